"""Events checked against Odoo's master data (issue 14, parts 2 and 3), through grpcio against the
Odoo emulator: each rule in each mode (off: stored, nothing said; record: stored with an exception;
refuse: REJECTED naming the field, not stored), and consumption beyond the BoM's tolerance raising
an exception at the order's completing event that reaches the stream, the metric, the status page
and the order in Odoo (17 and 19), while an order consumed as its BoM says raises nothing."""

from __future__ import annotations

import time
import uuid

import pytest

from conftest import RPC_TIMEOUT_S, admin_get, stubs
from odoo_harness import emulator_factory, gateway_args, wait_drained  # noqa: F401 (a fixture)
from test_exception_workflow import Subscription, metric
from test_master_data import seed, wait_for

RULE_KINDS = ["unknown_product", "uom_mismatch", "lot_on_untracked", "missing_lot", "unknown_work_center",
              "duplicate_completion"]


class Line:
    """Events of one order at the seeded work center."""

    def __init__(self, tag: str, order: str):
        self.tag, self.order = tag, order
        self.n = 0

    def event(self, work_center=None, **body):
        m = stubs().events_pb2
        self.n += 1
        return m.Event(event_id=f"md-{self.tag}-{self.n}", occurred_at_ms=int(time.time() * 1000), tz_offset="+01:00",
                       plant="P1", work_center=work_center or f"SAW-{self.tag}", operator_id="op-1",
                       work_order=self.order, **body)

    def consumed(self, product, lot="", qty=1.0, uom="kg", into=None):
        m, c = stubs().events_pb2, stubs().common_pb2
        return self.event(consumed=m.MaterialConsumed(component=c.LotRef(product=product, lot=lot),
                                                      qty=c.Quantity(value=qty, uom=uom), into=into))

    def operation(self, name, state, work_center=None):
        m = stubs().events_pb2
        return self.event(work_center=work_center, operation=m.OperationReported(operation=name, state=state))


def loaded(srv, tag):
    """Waits until the gateway has read the seeded products from Odoo."""
    md = stubs().master_data_pb2
    stub = stubs().master_data_pb2_grpc.MasterDataStub(srv.channel())
    wait_for(lambda: [i for i in stub.List(md.MasterDataFilter(kind=md.MasterItem.PRODUCT), timeout=5).items
                      if i.key == f"STEEL-{tag}"])


@pytest.mark.parametrize("mode", ["off", "record", "refuse"])
def test_each_rule_in_each_mode(server_factory, emulator_factory, mode):
    emu = emulator_factory(17)
    tag = uuid.uuid4().hex[:6]
    seed(emu, tag)
    srv = server_factory(gateway_args(emu, odoo_masterdata_poll_ms=300)
                         + ["--master-data-rules", f"all={mode}", "--consumption-tolerance", "off"])
    loaded(srv, tag)
    m = stubs().events_pb2
    State = m.OperationReported
    line = Line(tag, f"MO-{tag}-1")
    first_completion = line.operation("cut", State.COMPLETED)
    breaking = {
        "unknown_product": (line.consumed(f"NOPE-{tag}", lot="X1"), "consumed.component.product"),
        "uom_mismatch": (line.consumed(f"STEEL-{tag}", lot="S1", uom="Units"), "consumed.qty.uom"),
        "lot_on_untracked": (line.consumed(f"BOLT-{tag}", lot="B7", uom="Units"), "consumed.component"),
        "missing_lot": (line.consumed(f"STEEL-{tag}"), "consumed.component"),
        "unknown_work_center": (line.operation("cut", State.STARTED, work_center=f"NOWHERE-{tag}"), "work_center"),
        "duplicate_completion": (line.operation("cut", State.COMPLETED), "operation.state"),
    }
    fine = [line.consumed(f"STEEL-{tag}", lot="S1", qty=2), first_completion]
    ingest = stubs().events_pb2_grpc.EventIngestStub(srv.channel())
    acks = list(ingest.PublishStream(iter(fine + [e for e, _ in breaking.values()]), timeout=RPC_TIMEOUT_S))
    assert [a.result for a in acks[:2]] == [m.Ack.ACCEPTED] * 2, acks[:2]
    x = stubs().exceptions_pb2
    raised = list(stubs().exceptions_pb2_grpc.ExceptionsStub(srv.channel()).List(
        x.ExceptionFilter(kinds=RULE_KINDS), timeout=RPC_TIMEOUT_S).exceptions)
    for (rule, (event, field)), ack in zip(breaking.items(), acks[2:]):
        stored = srv.query("SELECT count(*) FROM events WHERE event_id = ?", (event.event_id,))[0][0]
        mine = [r for r in raised if r.event_id == event.event_id]
        if mode == "refuse":
            assert ack.result == m.Ack.REJECTED and ack.field == field, (rule, ack)
            assert f"master data rule {rule}" in ack.reason and stored == 0 and not mine, (rule, ack)
        else:
            assert ack.result == m.Ack.ACCEPTED and stored == 1, (rule, ack)
            kinds = [r.kind for r in mine]
            assert kinds == ([rule] if mode == "record" else []), (rule, kinds)
    if mode == "refuse":
        refused = dict(srv.query("SELECT kind, count(*) FROM refused_events GROUP BY kind"))
        assert refused == {rule: 1 for rule in RULE_KINDS}, refused
        # A single Publish gets FAILED_PRECONDITION naming the field.
        import grpc
        with pytest.raises(grpc.RpcError) as e:
            ingest.Publish(line.consumed(f"NOPE-{tag}", lot="X2"), timeout=RPC_TIMEOUT_S)
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert e.value.details().startswith("consumed.component.product: product NOPE-"), e.value.details()


def test_nothing_is_judged_before_master_data_is_read(server_factory):
    srv = server_factory(["--master-data-rules", "all=refuse"])  # no Odoo: no master data
    line = Line(uuid.uuid4().hex[:6], "MO-1")
    ack = stubs().events_pb2_grpc.EventIngestStub(srv.channel()).Publish(
        line.consumed("ANYTHING", lot="L1"), timeout=RPC_TIMEOUT_S)
    assert ack.result == stubs().events_pb2.Ack.ACCEPTED


@pytest.mark.parametrize("version", [17, 19])
def test_over_consumption_reaches_every_destination_at_once(server_factory, emulator_factory, version):
    """BoM: 1 bracket takes 0.8 kg of steel and 2 bolts. MO 1 makes 10 brackets from 10 kg of steel
    (8 expected, beyond 5 %) and 20 bolts (as planned): at its last operation's COMPLETED one
    over_consumption for the steel, within a second of the ack, everywhere. MO 2 consumes as the
    BoM says: nothing."""
    emu = emulator_factory(version)
    tag = uuid.uuid4().hex[:6]
    seed(emu, tag)
    emu.seed(productions=[{"name": f"MO-{tag}-2", "product": f"BRACKET-{tag}", "qty": 5, "tracking": "lot"}])
    srv = server_factory(gateway_args(emu, odoo_masterdata_poll_ms=300))
    loaded(srv, tag)
    m, c = stubs().events_pb2, stubs().common_pb2
    State = m.OperationReported
    ingest = stubs().events_pb2_grpc.EventIngestStub(srv.channel())
    andon = Subscription(srv, kinds=["over_consumption", "under_consumption"])
    time.sleep(0.3)

    def order_day(order, steel_kg, brackets, lot):
        line = Line(f"{tag}", order)
        line.n = 100 if order.endswith("-2") else 0
        return [
            line.consumed(f"STEEL-{tag}", lot="S1", qty=steel_kg),
            line.consumed(f"BOLT-{tag}", qty=2 * brackets, uom="Units"),
            line.event(produced=m.ProductionReported(output=c.LotRef(product=f"BRACKET-{tag}", lot=lot),
                                                     good=c.Quantity(value=brackets, uom="Units"))),
            line.operation("cut", State.COMPLETED),
        ]

    clean = order_day(f"MO-{tag}-2", 4.0, 5, f"BR2-{tag}")
    assert all(a.result == m.Ack.ACCEPTED for a in ingest.PublishStream(iter(clean), timeout=RPC_TIMEOUT_S))
    over = order_day(f"MO-{tag}-1", 10.0, 10, f"BR1-{tag}")
    for event in over[:-1]:
        assert ingest.Publish(event, timeout=RPC_TIMEOUT_S).result == m.Ack.ACCEPTED
    ack = ingest.Publish(over[-1], timeout=RPC_TIMEOUT_S)
    acked_at = time.monotonic()
    arrived_at, raised = andon.next(timeout=5)
    assert arrived_at - acked_at < 1.0, arrived_at - acked_at
    assert raised.kind == "over_consumption" and raised.work_order == f"MO-{tag}-1", raised
    assert raised.sequence == ack.sequence and raised.latency == "immediate"
    assert f"STEEL-{tag}: consumed 10 kg" in raised.detail and "expects 8 kg for 10 Units" in raised.detail, raised
    with pytest.raises(Exception):
        andon.next(timeout=1.0)  # nothing else: not the bolts, not the clean order
    andon.cancel()
    assert metric(srv, "mesgate_exceptions_open", kind="over_consumption") == 1
    status, _, page = admin_get(srv, "/")
    assert status == 200 and "over_consumption" in page and f"MO-{tag}-1" in page
    wait_drained(srv)
    orders = {o["name"]: o["id"] for o in emu.records("mrp.production")}
    activities = [a for a in emu.records("mail.activity")
                  if a["res_model"] == "mrp.production" and f"[MES:exception:{raised.id}]" in a["summary"]]
    assert len(activities) == 1 and activities[0]["res_id"] == orders[f"MO-{tag}-1"], emu.records("mail.activity")
