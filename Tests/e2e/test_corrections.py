"""Corrections of stored events (EventIngest/Correct, `mesgate event void|correct`): through grpcio
and the CLI, against the Odoo emulator. The original stays stored and visible in the history,
marked; the genealogy and the order's Odoo totals go on without it."""

from __future__ import annotations

import json
import subprocess

import grpc
import pytest

from conftest import RPC_TIMEOUT_S, stubs, token_line
from odoo_harness import PlantDay, emulator_factory, gateway_args, reconcile, wait_drained  # noqa: F401 (fixture)


def cli(binary, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60)


def correct(srv, metadata=(), **fields):
    stub = stubs().events_pb2_grpc.EventIngestStub(srv.channel())
    return stub.Correct(stubs().events_pb2.CorrectionRequest(**fields), timeout=RPC_TIMEOUT_S, metadata=metadata)


@pytest.mark.parametrize("version", [17, 19])
def test_a_voided_consumption_stops_dead_lettering_its_order(binary, server_factory, emulator_factory, version):
    """Odoo tracks bolts by lot, the plant consumed them loose by mistake: every posting of the
    order dies. The plant voids that consumption (`mesgate event void` through the server): the
    order's totals are posted again without it, its dead rows are resolved by that posting, and
    Odoo's order ends equal to the corrected plant's (reconcile: 0 differences)."""
    emu = emulator_factory(version)
    day = PlantDay()
    day.seed(emu)
    emu.set_product("BOLT", tracking="lot")
    srv = server_factory(gateway_args(emu))
    day.publish(srv)
    assert wait_drained(srv) == {"posted": 7, "dead": 7}
    bolt = f"pd-{day.tag}-5"
    r = cli(binary, "event", "void", bolt, "--reason", "bolts are not consumed per order", "--server", srv.address)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"Voided {bolt} (#" in r.stdout and f"work_order:{day.mo_a} is posted again" in r.stdout, r.stdout
    states = wait_drained(srv)
    assert states.get("dead", 0) == 0 and states.get("posted", 0) >= 8, states
    st = emu.state()
    products = {p["default_code"]: p["id"] for p in st["product.product"].values()}
    mo_a = next(m for m in st["mrp.production"].values() if m["name"] == day.mo_a)
    assert mo_a["state"] == "done" and mo_a["qty_producing"] == 10, mo_a
    raw_lines = [ml for ml in st["stock.move.line"].values()
                 if st["stock.move"][str(ml["move_id"])]["raw_material_production_id"] == mo_a["id"]]
    quantities = sorted((ml["product_id"], ml["quantity"]) for ml in raw_lines)
    assert quantities == sorted([(products["STEEL"], 5), (products["STEEL"], 3)]), raw_lines
    r = reconcile(binary, srv, emu, day.mo_a)
    assert r.returncode == 0 and "0 difference(s)" in r.stdout, r.stdout + r.stderr
    # The event is still stored, marked; voiding it again is refused, naming the correction.
    assert srv.query("SELECT count(*) FROM events WHERE event_id = ?", (bolt,)) == [(1,)]
    r = cli(binary, "event", "void", bolt, "--reason", "again", "--server", srv.address)
    assert r.returncode != 0 and "FAILED_PRECONDITION" in r.stderr and "by correction 1" in r.stderr, r.stderr
    audit = srv.query("SELECT action, subject, reason FROM audit_log WHERE action IN ('event_voided', 'event_corrected')")
    assert audit == [("event_voided", f"correction:1 event:{srv.scalar('SELECT sequence FROM events WHERE event_id = ?', (bolt,))} {bolt}",
                      "bolts are not consumed per order")], audit


def test_a_replacement_through_grpcio_changes_the_genealogy_and_the_history_shows_both(binary, server_factory):
    """A consumption into the wrong output lot is replaced (Correct with a replacement): the trace
    of the wrong lot no longer shows the component, the right one does; LotHistory and `mesgate
    history` show the original marked and the replacement naming it."""
    srv = server_factory()
    day = PlantDay()
    m, c = stubs().events_pb2, stubs().common_pb2
    events = day.build()
    wrong = m.Event()
    wrong.CopyFrom(events[3])
    wrong.event_id = f"into-{day.tag}"
    wrong.consumed.into.CopyFrom(c.LotRef(product="BRACKET", lot=f"WRONG-{day.tag}"))
    day.publish(srv, events + [wrong])
    fixed = m.Event()
    fixed.CopyFrom(wrong)
    fixed.event_id = f"into-{day.tag}.c1"
    fixed.consumed.into.lot = day.out_lot
    result = correct(srv, event_id=wrong.event_id, reason="scanned the wrong pallet label", replacement=fixed)
    assert result.correction_id == 1 and result.replacement_sequence > result.sequence > 0, result
    assert list(result.reposted) == [f"work_order:{day.mo_a}"], result

    genealogy = stubs().genealogy_pb2_grpc.GenealogyStub(srv.channel())
    g = stubs().genealogy_pb2

    def direct_inputs_of(lot_name):
        res = genealogy.Trace(g.TraceRequest(lot=c.LotRef(product="BRACKET", lot=lot_name), direction=c.BACKWARD),
                              timeout=RPC_TIMEOUT_S)
        return {getattr(e, "from").lot.lot for e in res.edges if e.to.lot.lot == lot_name}

    assert day.steel1 not in direct_inputs_of(f"WRONG-{day.tag}")
    assert day.steel1 in direct_inputs_of(day.out_lot)

    entries = list(genealogy.LotHistory(c.LotRef(product="STEEL", lot=day.steel1), timeout=RPC_TIMEOUT_S))
    by_id = {e.event.event_id: e for e in entries}
    original, replacement = by_id[wrong.event_id], by_id[fixed.event_id]
    assert original.corrected.correction_id == 1 and original.corrected.reason == "scanned the wrong pallet label"
    assert original.corrected.replacement_event_id == fixed.event_id and original.corrected.corrected_by
    assert replacement.corrects_event_id == wrong.event_id and not replacement.HasField("corrected")

    r = cli(binary, "history", "--server", srv.address, "--product", "STEEL", "--lot", day.steel1)
    assert r.returncode == 0, r.stderr
    assert f"REPLACED by {fixed.event_id}: correction 1 by " in r.stdout, r.stdout
    assert f"(replaces {wrong.event_id})" in r.stdout, r.stdout
    listed = json.loads(cli(binary, "history", "--server", srv.address, "--product", "STEEL", "--lot", day.steel1,
                            "--json").stdout)
    marked = next(e for e in listed if e["event_id"] == wrong.event_id)
    assert marked["corrected"]["replacement_event_id"] == fixed.event_id, marked


def test_refused_corrections_name_their_reason_and_change_nothing(binary, server_factory):
    srv = server_factory()
    day = PlantDay()
    events = day.build()
    day.publish(srv, events)
    before = srv.query("SELECT count(*) FROM events")
    codes = []
    for fields, code, words in [
        ({"event_id": "no-such-event", "reason": "x"}, grpc.StatusCode.NOT_FOUND, "no stored event has event_id"),
        ({"event_id": events[3].event_id}, grpc.StatusCode.INVALID_ARGUMENT, "reason: is required"),
        ({"reason": "x"}, grpc.StatusCode.INVALID_ARGUMENT, "event_id: is required"),
    ]:
        with pytest.raises(grpc.RpcError) as e:
            correct(srv, **fields)
        assert e.value.code() == code and words in e.value.details(), e.value.details()
        codes.append(code)
    m = stubs().events_pb2
    bad = m.Event()
    bad.CopyFrom(events[3])
    bad.event_id = "fix-1"
    bad.consumed.qty.value = -1
    with pytest.raises(grpc.RpcError) as e:
        correct(srv, event_id=events[3].event_id, reason="x", replacement=bad)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details().startswith("replacement.consumed.qty.value:"), e.value.details()
    taken = m.Event()
    taken.CopyFrom(events[3])
    taken.event_id = events[4].event_id  # another stored event's id
    with pytest.raises(grpc.RpcError) as e:
        correct(srv, event_id=events[3].event_id, reason="x", replacement=taken)
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS and "is stored already" in e.value.details()
    same = m.Event()
    same.CopyFrom(events[3])
    with pytest.raises(grpc.RpcError) as e:
        correct(srv, event_id=events[3].event_id, reason="x", replacement=same)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "replacement.event_id" in e.value.details()
    assert srv.query("SELECT count(*) FROM events") == before
    assert srv.query("SELECT count(*) FROM corrections") == [(0,)]
    r = cli(binary, "event", "void", "no-such-event", "--reason", "x", "--server", srv.address)
    assert r.returncode != 0 and "NOT_FOUND" in r.stderr, r.stderr
    r = cli(binary, "event", "correct", events[3].event_id, "--reason", "x", "--data", str(srv.data))
    assert r.returncode != 0 and "say what changes" in r.stderr, r.stderr


def test_only_mes_and_admin_tokens_may_correct(binary, server_factory, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text(token_line("line-7", "mes", "mes-secret") + token_line("qe", "quality", "q-secret"))
    srv = server_factory(["--tokens", str(tokens)])
    day = PlantDay()
    events = day.build()
    stub = stubs().events_pb2_grpc.EventIngestStub(srv.channel())
    acks = list(stub.PublishStream(iter(events), timeout=RPC_TIMEOUT_S,
                                   metadata=[("authorization", "Bearer mes-secret")]))
    assert all(a.result == stubs().events_pb2.Ack.ACCEPTED for a in acks)
    with pytest.raises(grpc.RpcError) as e:
        correct(srv, [("authorization", "Bearer q-secret")], event_id=events[3].event_id, reason="x")
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    result = correct(srv, [("authorization", "Bearer mes-secret")], event_id=events[3].event_id, reason="double scan")
    assert result.correction_id == 1
    assert srv.query("SELECT corrected_by FROM corrections") == [("line-7",)]


def test_cli_correct_reads_the_stored_event_and_sends_the_change(binary, server_factory):
    """`mesgate event correct --qty` on a running server: the stored event is read from --data,
    changed, and sent with its new id; the Odoo totals (order report) follow the corrected quantity."""
    srv = server_factory()
    day = PlantDay()
    events = day.build()
    day.publish(srv, events)
    original = events[3].event_id  # 5 kg of STEEL lot 1
    r = cli(binary, "event", "correct", original, "--qty", "4.5", "--reason", "scale was not tared",
            "--data", str(srv.data), "--server", srv.address, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    answer = json.loads(r.stdout)
    assert answer["replacement_event_id"] == f"{original}.c1" and answer["replacement_sequence"] > 0, answer
    raw = srv.scalar("SELECT raw FROM events WHERE event_id = ?", (f"{original}.c1",))
    fixed = stubs().events_pb2.Event.FromString(raw)
    assert fixed.consumed.qty.value == 4.5 and fixed.consumed.component.lot == day.steel1, fixed
    assert srv.query("SELECT c.reason FROM corrections c JOIN events e ON e.sequence = c.sequence "
                     "WHERE e.event_id = ?", (original,)) == [("scale was not tared",)]


SCHEMA = __import__("pathlib").Path(__file__).resolve().parents[3] / "shared" / "reference" / "epcis" / "EPCIS-JSON-Schema.json"


def export_epcis(srv, ref) -> dict:
    g = stubs().genealogy_pb2
    request = g.ExportRequest(lot=ref, format=g.ExportRequest.EPCIS_JSONLD)
    chunks = stubs().genealogy_pb2_grpc.GenealogyStub(srv.channel()).Export(request, timeout=60)
    return json.loads(b"".join(c.data for c in chunks))


def by_mes_id(doc) -> dict:
    return {e["mesgate:eventID"]: e for e in doc["epcisBody"]["eventList"] if "mesgate:eventID" in e}


def test_epcis_both_ways_an_error_declaration(binary, server_factory):
    """Export: a replaced event carries an errorDeclaration (incorrect_data, correctiveEventIDs =
    the replacement's EPCIS id), a voided one did_not_occur; their event ids do not change (CBV 2.0
    leaves errorDeclaration out of the hash); the document is valid against GS1's schema. Import:
    that document into another store voids the declared events there and links the replacement."""
    import jsonschema

    srv = server_factory()
    day = PlantDay()
    events = day.build()
    day.publish(srv, events)
    steel = stubs().common_pb2.LotRef(product="STEEL", lot=day.steel1)
    before = by_mes_id(export_epcis(srv, steel))
    consumption, scrap = events[3], events[8]
    fixed = stubs().events_pb2.Event()
    fixed.CopyFrom(consumption)
    fixed.event_id = consumption.event_id + ".c1"
    fixed.consumed.qty.value = 4.5
    correct(srv, event_id=consumption.event_id, reason="scale was not tared", replacement=fixed)
    correct(srv, event_id=scrap.event_id, reason="the offcut was reused")

    doc = export_epcis(srv, steel)
    errors = list(jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).iter_errors(doc))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    after = by_mes_id(doc)
    replaced, voided, replacement = after[consumption.event_id], after[scrap.event_id], after[fixed.event_id]
    assert replaced["eventID"] == before[consumption.event_id]["eventID"]
    assert voided["eventID"] == before[scrap.event_id]["eventID"]
    declared = replaced["errorDeclaration"]
    assert declared["reason"] == "incorrect_data" and declared["correctiveEventIDs"] == [replacement["eventID"]]
    assert declared["mesgate:reason"] == "scale was not tared" and declared["declarationTime"].endswith("+00:00")
    assert voided["errorDeclaration"]["reason"] == "did_not_occur"
    assert "correctiveEventIDs" not in voided["errorDeclaration"]
    assert "errorDeclaration" not in replacement

    other = server_factory()
    stub = stubs().events_pb2_grpc.EventIngestStub(other.channel())
    result = stub.ImportEPCIS(stubs().events_pb2.EPCISDocument(json=json.dumps(doc).encode()), timeout=RPC_TIMEOUT_S)
    assert result.voided == 2, result
    rows = other.query("SELECT c.reason, c.replacement_sequence IS NOT NULL FROM corrections c ORDER BY c.id")
    assert rows == [("EPCIS errorDeclaration: incorrect_data: scale was not tared", 1),
                    ("EPCIS errorDeclaration: did_not_occur: the offcut was reused", 0)], rows
    # Importing it again voids nothing more.
    again = stub.ImportEPCIS(stubs().events_pb2.EPCISDocument(json=json.dumps(doc).encode()), timeout=RPC_TIMEOUT_S)
    assert again.voided == 0 and again.stored == 0, again
    # The declared events are stored there too (the record of what was said), marked.
    kinds = other.query("SELECT e.kind FROM corrections c JOIN events e ON e.sequence = c.sequence ORDER BY c.id")
    assert kinds == [("consumed",), ("scrapped",)], kinds
