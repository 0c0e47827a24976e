"""Quality holds reach Odoo through the outbox (latency class `immediate`): while a hold is open,
every lot and serial it covers carries a "Quality hold [MES:hold:<id>]" mail.activity in Odoo;
a release marks them done (`action_feedback`). Also: dead rows that a later posting of the same
order or hold made good are marked resolved, and no longer count as dead."""

from __future__ import annotations

import json
import sqlite3
import urllib.request

import pytest

from conftest import stubs
from odoo_harness import PlantDay, emulator_factory, gateway_args, mesgate, odoo_holds, plant_holds, reconcile, wait_drained  # noqa: F401 (emulator_factory is a fixture)


def hold_request(lot, reason="", propagate=True):
    return stubs().quality_pb2.HoldRequest(lot=lot, reason=reason, propagate=propagate)


def quality(server):
    return stubs().quality_pb2_grpc.QualityStub(server.channel())


def ref(product="", lot="", serial=""):
    return stubs().common_pb2.LotRef(product=product, lot=lot, serial=serial)


def metric(server, name, **labels) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.admin_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}}"):
            return float(line.split()[-1])
    raise AssertionError(f"no {name} {labels} in /metrics")


@pytest.mark.parametrize("version", [17, 18, 19])
def test_plant_day_with_holds_reaches_odoo_exactly(binary, server_factory, emulator_factory, version):
    emu = emulator_factory(version)
    day = PlantDay()
    day.seed(emu)
    srv = server_factory(gateway_args(emu) + ["--hold-on-quality-fail"])
    day.publish(srv)  # its FAIL on the bracket lot holds that lot
    qs = quality(srv)
    # A supplier lot recalled: held with everything made from it (through MO-A: the bracket lot).
    recall = qs.PlaceHold(hold_request(ref("STEEL", day.steel1), "supplier recall"), timeout=10)
    assert {(r.product, r.lot) for r in recall.held} == {("STEEL", day.steel1), ("BRACKET", day.out_lot)}
    # The pump serial held, then released.
    qs.PlaceHold(hold_request(ref("PUMP", serial=day.serial), "leak test"), timeout=10)
    qs.ReleaseHold(hold_request(ref("PUMP", serial=day.serial), "leak test passed"), timeout=10)
    states = wait_drained(srv)
    assert states == {"posted": 14 + 4}, states  # the day's rows, three placements and one release
    holds = srv.query("SELECT kind, latency_class, odoo_answer FROM outbox WHERE hold_id IS NOT NULL ORDER BY id")
    assert [(k, c) for k, c, _ in holds] == [("hold", "immediate")] * 3 + [("release", "immediate")], holds
    day.check(emu)
    plant_open, plant_released = plant_holds(srv)
    activities, done = odoo_holds(emu)
    assert sorted(activities) == sorted(plant_open) and len(plant_open) == 3, (activities, plant_open)
    assert sorted(done) == sorted(plant_released) and len(plant_released) == 1, (done, plant_released)
    feedback = [m["body"] for m in emu.records("mail.message") if "MES:hold:" in m["body"]]
    assert len(feedback) == 1 and "Released by" in feedback[0] and "leak test passed" in feedback[0], feedback
    # Posting again (a replay of everything, as after a restore) changes nothing in Odoo.
    con = sqlite3.connect(srv.db_path, timeout=10)
    with con:
        con.execute("UPDATE outbox SET state = 'pending', next_attempt_at_ms = 0")
    con.close()
    assert wait_drained(srv) == {"posted": 18}
    assert odoo_holds(emu) == (activities, done)
    day.check(emu)
    r = reconcile(binary, srv, emu)
    assert r.returncode == 0, r.stdout + r.stderr


def test_hold_refused_by_odoo_is_dead_with_its_message_and_a_release_resolves_it(
        binary, server_factory, emulator_factory):
    emu = emulator_factory(18)
    day = PlantDay()
    day.seed(emu)
    srv = server_factory(gateway_args(emu))
    day.publish(srv)
    wait_drained(srv)
    emu.fault("validation", match="MES:hold:", method="create", times=-1)
    quality(srv).PlaceHold(hold_request(ref("STEEL", day.steel2), "odd colour", propagate=False), timeout=10)
    states = wait_drained(srv)
    assert states == {"posted": 14, "dead": 1}, states
    (row, error), = srv.query("SELECT id, last_error FROM outbox WHERE state = 'dead'")
    assert "ValidationError" in error and "Injected validation error" in error, error
    listed = json.loads(mesgate(binary, srv, "outbox", "list", "--json").stdout)
    assert [(r["id"], r["kind"], r["state"]) for r in listed["rows"]] == [(row, "hold", "dead")]
    assert listed["rows"][0]["hold_id"] > 0 and listed["rows"][0]["event_id"].startswith("hold:")
    assert metric(srv, "mesgate_outbox_rows", state="dead") == 1
    assert odoo_holds(emu) == ([], [])
    # Odoo accepts again; the hold is released: the release's posting records the hold placed and
    # done on the lot (what the plant did), so the dead placement is resolved by it.
    emu.clear_faults()
    quality(srv).ReleaseHold(hold_request(ref("STEEL", day.steel2), "colour fine"), timeout=10)
    assert wait_drained(srv) == {"posted": 15, "resolved": 1}
    shown = json.loads(mesgate(binary, srv, "outbox", "show", str(row), "--json").stdout)
    assert shown["state"] == "resolved" and "resolved by the posting of #" in shown["resolved_note"], shown
    assert json.loads(mesgate(binary, srv, "outbox", "list", "--json").stdout)["rows"] == []
    assert metric(srv, "mesgate_outbox_rows", state="dead") == 0
    assert metric(srv, "mesgate_outbox_rows", state="resolved") == 1
    hold = listed["rows"][0]["hold_id"]
    assert odoo_holds(emu) == ([], [(hold, "STEEL", day.steel2)])


def test_hold_on_a_product_odoo_does_not_know_is_dead_with_the_reason(server_factory, emulator_factory):
    emu = emulator_factory(19)
    day = PlantDay()
    day.seed(emu)
    srv = server_factory(gateway_args(emu))
    m = stubs().events_pb2
    event = m.Event(event_id=f"x-{day.tag}", occurred_at_ms=1_780_000_000_000, tz_offset="+01:00",
                    received=m.MaterialReceived(lot=ref("GLITTER", f"G-{day.tag}"),
                                                qty=stubs().common_pb2.Quantity(value=1, uom="kg")))
    day.publish(srv, [event])
    quality(srv).PlaceHold(hold_request(ref("GLITTER", f"G-{day.tag}"), "unknown"), timeout=10)
    assert wait_drained(srv) == {"dead": 1}
    assert srv.query("SELECT kind, last_error FROM outbox") == [
        ("hold", "permanent: mesgate.NoSuchProduct: no product.product with code GLITTER")]


def test_holds_none_tells_odoo_nothing(server_factory, emulator_factory):
    emu = emulator_factory(17)
    day = PlantDay()
    day.seed(emu)
    srv = server_factory(gateway_args(emu, odoo_holds="none"))
    day.publish(srv)
    quality(srv).PlaceHold(hold_request(ref("STEEL", day.steel1), "recall"), timeout=10)
    assert wait_drained(srv) == {"posted": 15}
    assert srv.query("SELECT odoo_answer FROM outbox WHERE kind = 'hold'") == [("not posted: odoo-holds is none",)]
    assert odoo_holds(emu) == ([], [])


def test_dead_order_rows_are_resolved_by_a_later_posting_of_the_order(binary, server_factory, emulator_factory):
    emu = emulator_factory(17)
    day = PlantDay()
    day.seed(emu)
    emu.set_product("BOLT", tracking="lot")  # Odoo refuses MO-A: its bolts are consumed loose
    srv = server_factory(gateway_args(emu))
    day.publish(srv)
    assert wait_drained(srv) == {"posted": 7, "dead": 7}
    assert metric(srv, "mesgate_outbox_rows", state="dead") == 7
    emu.set_product("BOLT", tracking="none")  # fixed in Odoo; no replay: the plant simply goes on
    m = stubs().events_pb2
    more = m.Event(event_id=f"pd-{day.tag}-more", occurred_at_ms=1_780_000_000_000, tz_offset="+01:00",
                   work_center=day.wc, work_order=day.mo_a,
                   operation=m.OperationReported(operation="inspect", state=m.OperationReported.COMPLETED))
    day.publish(srv, [more])
    assert wait_drained(srv) == {"posted": 8, "resolved": 7}
    day.check(emu)
    notes = {n for (n,) in srv.query("SELECT resolved_note FROM outbox WHERE state = 'resolved'")}
    assert len(notes) == 1 and notes.pop().startswith("resolved by the posting of #"), notes
    r = mesgate(binary, srv, "outbox", "list")
    assert r.returncode == 0 and "dead" not in r.stdout.split("\n", 1)[1], r.stdout
    assert metric(srv, "mesgate_outbox_rows", state="dead") == 0
    assert metric(srv, "mesgate_odoo_postings_total", outcome="resolved") == 7


def test_a_dead_scrap_is_not_resolved_by_another_posting(server_factory, emulator_factory):
    """A scrap is its own record in Odoo: a later posting of the order does not make it good."""
    emu = emulator_factory(17)
    day = PlantDay()
    day.seed(emu)
    emu.fault("validation", match=f"MES:pd-{day.tag}-8", method="create")
    srv = server_factory(gateway_args(emu))
    day.publish(srv)
    assert wait_drained(srv) == {"posted": 13, "dead": 1}
    m = stubs().events_pb2
    more = m.Event(event_id=f"pd-{day.tag}-more", occurred_at_ms=1_780_000_000_000, tz_offset="+01:00",
                   work_center=day.wc, work_order=day.mo_a,
                   operation=m.OperationReported(operation="inspect", state=m.OperationReported.COMPLETED))
    day.publish(srv, [more])
    assert wait_drained(srv) == {"posted": 14, "dead": 1}


@pytest.mark.parametrize("method", ["create", "action_feedback"])
def test_lost_answers_on_hold_postings_duplicate_nothing(server_factory, emulator_factory, method):
    """Odoo made the activity (or marked it done) and the connection broke before it answered:
    the retry finds it by its marker and makes nothing twice."""
    emu = emulator_factory(19)
    day = PlantDay()
    day.seed(emu)
    srv = server_factory(gateway_args(emu))
    day.publish(srv)
    wait_drained(srv)
    emu.fault("reset_after_commit", times=2, method=method, **({"match": "MES:hold:"} if method == "create" else {}))
    qs = quality(srv)
    qs.PlaceHold(hold_request(ref("STEEL", day.steel1), "recall"), timeout=10)
    assert wait_drained(srv) == {"posted": 15}
    qs.ReleaseHold(hold_request(ref("STEEL", day.steel1), "cleared"), timeout=10)
    assert wait_drained(srv) == {"posted": 16}
    assert emu.stats()["faults"].get("reset_after_commit") == 2
    assert srv.scalar("SELECT max(attempts) FROM outbox WHERE hold_id IS NOT NULL") >= 1
    plant_open, plant_released = plant_holds(srv)
    activities, done = odoo_holds(emu)
    assert activities == [] and not plant_open
    assert sorted(done) == sorted(plant_released) and len(plant_released) == 2, (done, plant_released)


@pytest.mark.parametrize("model,domain,message", [
    ("ir.model.data", [["name", "=", "mail_activity_data_todo"]],
     "permanent: mesgate.NoSuchActivityType: no mail.mail_activity_data_todo in Odoo"),
    ("ir.model", [["model", "=", "stock.lot"]], "permanent: mesgate.NoSuchModel: no ir.model for stock.lot"),
])
def test_hold_without_odoos_activity_setup_is_dead_with_the_reason(server_factory, emulator_factory, model, domain,
                                                                    message):
    emu = emulator_factory(17)
    day = PlantDay()
    day.seed(emu)
    assert emu.unlink(model, domain)
    srv = server_factory(gateway_args(emu))
    day.publish(srv)
    wait_drained(srv)
    quality(srv).PlaceHold(hold_request(ref("STEEL", day.steel1), "recall", propagate=False), timeout=10)
    assert wait_drained(srv) == {"posted": 14, "dead": 1}
    assert srv.query("SELECT kind, last_error FROM outbox WHERE state = 'dead' AND exception_id IS NULL") == \
        [("hold", message)]
    # The day's exception activities (its stop, raised and closed; its failed check) are activities
    # too: on the production order, they die the same way when Odoo has no To-Do activity type.
    raised = set(srv.query("SELECT state, last_error FROM outbox WHERE exception_id IS NOT NULL"))
    assert raised in ({("posted", "")}, {("dead", message)}), raised


def test_a_dead_downtime_start_is_resolved_when_its_end_is_posted(server_factory, emulator_factory):
    emu = emulator_factory(18)
    day = PlantDay()
    day.seed(emu)
    srv = server_factory(gateway_args(emu))
    m = stubs().events_pb2
    wc = f"WC-new-{day.tag}"  # not in Odoo yet

    def stop(n, **ended):
        return m.Event(event_id=f"dt-{day.tag}-{n}", occurred_at_ms=1_780_000_000_000, tz_offset="+01:00",
                       work_center=wc, downtime=m.DowntimeReported(reason="jam", loss=m.DowntimeReported.AVAILABILITY,
                                                                   started_at_ms=1_780_000_000_000, **ended))

    other = m.Event(event_id=f"dt-{day.tag}-x", occurred_at_ms=1_780_000_000_000, tz_offset="+01:00",
                    work_center=wc, downtime=m.DowntimeReported(reason="tool", loss=m.DowntimeReported.AVAILABILITY,
                                                                started_at_ms=1_780_000_500_000))
    day.publish(srv, [stop(1), other])
    assert wait_drained(srv) == {"dead": 2}
    emu.seed(workcenters=[wc], losses=[])
    day.publish(srv, [stop(2, ended_at_ms=1_780_000_300_000)])
    # The stop's end made its start good; the other stop is a record of its own: still dead.
    assert wait_drained(srv) == {"posted": 1, "resolved": 1, "dead": 1}
    downs = [d for d in emu.records("mrp.workcenter.productivity") if f"[MES:{wc}@" in d["description"]]
    assert len(downs) == 1 and downs[0]["date_end"], downs
