"""Orders that made several output lots or serials. Odoo 19 records them all on the order
(`lot_producing_ids`); 17 and 18 hold one lot per order (`lot_producing_id`), so mesgate splits
the order with Odoo's split wizard (`mrp.production.split`), one order per lot: Odoo renames the
original <name>-001 and numbers the rest <name>-002, ... Reconcile agrees either way."""

from __future__ import annotations

import time
import uuid

import pytest

from conftest import stubs
from odoo_harness import emulator_factory, gateway_args, reconcile, wait_drained  # noqa: F401 (emulator_factory is a fixture)


class Orders:
    """MO-C makes two BRACKET lots from STEEL (each consumption naming its lot) and loose bolts;
    MO-S makes three PUMP serials, reported one at a time."""

    def __init__(self):
        t = self.tag = uuid.uuid4().hex[:6]
        self.mo_c, self.mo_s = f"WH/MO/C{t}", f"WH/MO/S{t}"
        self.lots = [f"BL1-{t}", f"BL2-{t}"]
        self.steel = [f"S1-{t}", f"S2-{t}"]
        self.serials = [f"PS1-{t}", f"PS2-{t}", f"PS3-{t}"]
        self.n = 0

    def seed(self, emu):
        emu.seed(
            products=[{"default_code": "BRACKET", "tracking": "lot"}, {"default_code": "STEEL", "tracking": "lot"},
                      {"default_code": "BOLT", "tracking": "none"}, {"default_code": "PUMP", "tracking": "serial"},
                      {"default_code": "HOUSING", "tracking": "lot"}],
            productions=[
                {"name": self.mo_c, "product": "BRACKET", "qty": 10, "tracking": "lot",
                 "components": [{"product": "STEEL", "tracking": "lot", "qty": 8}, {"product": "BOLT", "qty": 20}]},
                {"name": self.mo_s, "product": "PUMP", "qty": 3, "tracking": "serial",
                 "components": [{"product": "HOUSING", "tracking": "lot", "qty": 3}]},
            ])

    def ev(self, order, **body):
        self.n += 1
        return stubs().events_pb2.Event(event_id=f"ml-{self.tag}-{self.n}", occurred_at_ms=1_780_000_000_000,
                                        tz_offset="+01:00", work_center="WC", work_order=order, **body)

    def lot_events(self, complete=True):
        m, c = stubs().events_pb2, stubs().common_pb2
        L = c.LotRef
        out = [L(product="BRACKET", lot=x) for x in self.lots]
        q = c.Quantity
        evs = [
            self.ev(self.mo_c, consumed=m.MaterialConsumed(component=L(product="STEEL", lot=self.steel[0]),
                                                           qty=q(value=5, uom="kg"), into=out[0])),
            self.ev(self.mo_c, produced=m.ProductionReported(output=out[0], good=q(value=4, uom="Units"))),
            self.ev(self.mo_c, consumed=m.MaterialConsumed(component=L(product="BOLT"), qty=q(value=20, uom="Units"))),
            self.ev(self.mo_c, consumed=m.MaterialConsumed(component=L(product="STEEL", lot=self.steel[1]),
                                                           qty=q(value=3, uom="kg"), into=out[1])),
            self.ev(self.mo_c, produced=m.ProductionReported(output=out[1], good=q(value=6, uom="Units"))),
        ]
        if complete:
            evs.append(self.ev(self.mo_c, operation=m.OperationReported(operation="cut",
                                                                        state=m.OperationReported.COMPLETED)))
        return evs

    def serial_events(self, i):
        m, c = stubs().events_pb2, stubs().common_pb2
        out = c.LotRef(product="PUMP", serial=self.serials[i])
        evs = [
            self.ev(self.mo_s, consumed=m.MaterialConsumed(component=c.LotRef(product="HOUSING", lot=f"H-{self.tag}"),
                                                           qty=c.Quantity(value=1, uom="Units"), into=out)),
            self.ev(self.mo_s, produced=m.ProductionReported(output=out, good=c.Quantity(value=1, uom="Units"))),
        ]
        if i == len(self.serials) - 1:
            evs.append(self.ev(self.mo_s, operation=m.OperationReported(operation="assemble",
                                                                        state=m.OperationReported.COMPLETED)))
        return evs


def publish(server, events):
    stub = stubs().events_pb2_grpc.EventIngestStub(server.channel())
    acks = list(stub.PublishStream(iter(events), timeout=30))
    assert all(a.result == stubs().events_pb2.Ack.ACCEPTED for a in acks), acks


def family(emu, name) -> list[dict]:
    """The order and what Odoo split from it, by name, with lots and consumption resolved."""
    st = emu.state()
    lots = {int(k): r["name"] for k, r in st["stock.lot"].items()}
    codes = {int(k): r["default_code"] for k, r in st["product.product"].items()}
    out = []
    for mo in st["mrp.production"].values():
        if mo["name"] != name and not (mo["name"].startswith(name + "-") and len(mo["name"]) == len(name) + 4):
            continue
        moves = {m["id"] for m in st["stock.move"].values() if m["raw_material_production_id"] == mo["id"]}
        consumed = sorted((codes[ml["product_id"]], lots.get(ml.get("lot_id")), ml["quantity"])
                          for ml in st["stock.move.line"].values() if ml["move_id"] in moves)
        made = mo.get("lot_producing_ids") if emu.version >= 19 else [mo["lot_producing_id"]]
        out.append({"name": mo["name"], "state": mo["state"], "qty": mo["qty_producing"],
                    "lots": sorted(lots[i] for i in made or [] if i), "consumed": consumed})
    return sorted(out, key=lambda r: r["name"])


@pytest.mark.parametrize("version", [17, 18, 19])
def test_several_output_lots_and_serials_all_reach_odoo(binary, server_factory, emulator_factory, version):
    emu = emulator_factory(version)
    o = Orders()
    o.seed(emu)
    srv = server_factory(gateway_args(emu))
    publish(srv, o.lot_events())
    for i in range(3):  # serials one at a time: 17/18 split again as each new one arrives
        publish(srv, o.serial_events(i))
        wait_drained(srv)
    assert wait_drained(srv) == {"posted": 6 + 7}
    c, s = family(emu, o.mo_c), family(emu, o.mo_s)
    bolts, (s1, s2) = ("BOLT", None, 20), o.steel
    if version >= 19:
        assert c == [{"name": o.mo_c, "state": "done", "qty": 10, "lots": sorted(o.lots),
                      "consumed": [bolts, ("STEEL", s1, 5), ("STEEL", s2, 3)]}], c
        assert [(r["name"], r["state"], r["qty"], r["lots"]) for r in s] == [(o.mo_s, "done", 3, sorted(o.serials))]
    else:
        assert c == [
            {"name": f"{o.mo_c}-001", "state": "done", "qty": 4, "lots": [o.lots[0]],
             "consumed": [bolts, ("STEEL", s1, 5)]},
            {"name": f"{o.mo_c}-002", "state": "done", "qty": 6, "lots": [o.lots[1]], "consumed": [("STEEL", s2, 3)]},
        ], c
        assert [(r["name"], r["state"], r["qty"], r["lots"]) for r in s] == [
            (f"{o.mo_s}-00{i + 1}", "done", 1, [o.serials[i]]) for i in range(3)], s
    r = reconcile(binary, srv, emu)
    assert r.returncode == 0 and "0 difference(s)" in r.stdout, r.stdout + r.stderr


def test_a_split_whose_answer_was_lost_is_not_split_again(server_factory, emulator_factory):
    emu = emulator_factory(17)
    o = Orders()
    o.seed(emu)
    emu.fault("reset_after_commit", times=1, method="action_split")
    srv = server_factory(gateway_args(emu))
    publish(srv, o.lot_events())
    assert wait_drained(srv) == {"posted": 6}
    assert emu.stats()["faults"].get("reset_after_commit") == 1
    assert [(r["name"], r["lots"]) for r in family(emu, o.mo_c)] == [
        (f"{o.mo_c}-001", [o.lots[0]]), (f"{o.mo_c}-002", [o.lots[1]])]


def test_another_lot_on_an_order_done_in_odoo_is_dead_with_the_reason(binary, server_factory, emulator_factory):
    emu = emulator_factory(18)
    o = Orders()
    o.seed(emu)
    srv = server_factory(gateway_args(emu))
    first = o.lot_events()
    publish(srv, [first[0], first[1], first[-1]])  # one lot, complete: done in Odoo
    assert wait_drained(srv) == {"posted": 3}
    publish(srv, first[3:5])  # then the plant reports a second lot on it
    assert wait_drained(srv) == {"posted": 3, "dead": 2}
    errors = {e for (e,) in srv.query("SELECT last_error FROM outbox WHERE state = 'dead'")}
    assert errors == {f"permanent: mesgate.CannotSplit: {o.mo_c} is done in Odoo: it cannot be split for the "
                      "plant's 2 output lots"}, errors
    r = reconcile(binary, srv, emu)
    assert r.returncode == 1 and "output lots plant" in r.stdout, r.stdout


@pytest.mark.parametrize("version", [18, 19])
def test_lots_are_made_in_the_company_of_their_order(server_factory, emulator_factory, version):
    """The lots of an order of a second company are that company's (mesgate created every lot with
    company_id 1 before); the same lot name in two companies is two lots, as in Odoo."""
    emu = emulator_factory(version)
    t = uuid.uuid4().hex[:6]
    one, two = f"WH/MO/A{t}", f"WH/MO/B{t}"
    emu.seed(companies=["Second Plant Co"],
             products=[{"default_code": "BRACKET", "tracking": "lot"}, {"default_code": "STEEL", "tracking": "lot"}],
             productions=[
                 {"name": one, "product": "BRACKET", "qty": 5, "tracking": "lot",
                  "components": [{"product": "STEEL", "tracking": "lot", "qty": 2}]},
                 {"name": two, "product": "BRACKET", "qty": 5, "tracking": "lot", "company": "Second Plant Co",
                  "components": [{"product": "STEEL", "tracking": "lot", "qty": 2}]},
             ])
    srv = server_factory(gateway_args(emu))
    m, c = stubs().events_pb2, stubs().common_pb2
    evs = []
    for order, lot in ((one, f"B-{t}"), (two, f"B-{t}")):  # the same lot name in both companies
        def ev(n, **body):
            return m.Event(event_id=f"co-{t}-{order[-7:]}-{n}", occurred_at_ms=1_780_000_000_000, tz_offset="+01:00",
                           work_center="WC", work_order=order, **body)
        evs += [
            ev(1, consumed=m.MaterialConsumed(component=c.LotRef(product="STEEL", lot=f"S-{t}"),
                                              qty=c.Quantity(value=2, uom="kg"))),
            ev(2, produced=m.ProductionReported(output=c.LotRef(product="BRACKET", lot=lot),
                                                good=c.Quantity(value=5, uom="Units"))),
        ]
    publish(srv, evs)
    assert wait_drained(srv) == {"posted": 4}  # each event is an outbox row; an order's are posted together
    companies = {r["name"]: r["id"] for r in emu.records("res.company")}
    lots = sorted((r["name"], r["company_id"][0] if isinstance(r["company_id"], list) else r["company_id"])
                  for r in emu.records("stock.lot"))
    first, second = companies["Plant Co"], companies["Second Plant Co"]
    assert lots == sorted([(f"B-{t}", first), (f"B-{t}", second), (f"S-{t}", first), (f"S-{t}", second)]), lots
