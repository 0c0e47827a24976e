"""Quality.PlaceHold / ReleaseHold end to end through grpcio: propagation forward (through an
order, a direct consumption and a pallet), `hold` status in traces, refusal of a Shipped for a
held item (FAILED_PRECONDITION on Publish, REJECTED Ack on PublishStream, recorded), and a release
that undoes exactly what its hold did."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo
import os
import pwd
import subprocess
import time
import uuid

import grpc
from conftest import admin_get
import pytest


@pytest.fixture
def ids():
    t = uuid.uuid4().hex[:8]
    return t


def mk(pb, eid, wo="", **body):
    m = pb.events_pb2
    e = m.Event(event_id=eid, occurred_at_ms=1_780_000_000_000, tz_offset="+02:00", plant="P", work_center="WC",
                operator_id="op", work_order=wo)
    for k, v in body.items():
        getattr(e, k).CopyFrom(v)
    return e


def lot(pb, product="", lot="", serial="", container=""):
    return pb.common_pb2.LotRef(product=product, lot=lot, serial=serial, container=container)


def q(pb, v, uom="kg"):
    return pb.common_pb2.Quantity(value=v, uom=uom)


def build(pb, server, t):
    """Raw R → order MO (order-level) → intermediate I → (direct) serial S; I on pallet P; X apart."""
    m = pb.events_pb2
    R, I, S = lot(pb, "RAW", f"R-{t}"), lot(pb, "INT", f"I-{t}"), lot(pb, "FG", serial=f"S-{t}")
    P, X = lot(pb, container=f"PAL-{t}"), lot(pb, "RAW", f"X-{t}")
    evs = [
        mk(pb, f"{t}-1", received=m.MaterialReceived(lot=R, qty=q(pb, 10), supplier="ACME", supplier_lot="A1")),
        mk(pb, f"{t}-2", received=m.MaterialReceived(lot=X, qty=q(pb, 10), supplier="ACME", supplier_lot="A2")),
        mk(pb, f"{t}-3", wo=f"MO-{t}", consumed=m.MaterialConsumed(component=R, qty=q(pb, 2))),
        mk(pb, f"{t}-4", wo=f"MO-{t}", produced=m.ProductionReported(output=I, good=q(pb, 5, "Units"))),
        mk(pb, f"{t}-5", wo=f"MO2-{t}", consumed=m.MaterialConsumed(component=I, qty=q(pb, 1, "Units"), into=S)),
        mk(pb, f"{t}-6", packed=m.Packed(container=P, contents=[I], action=m.Packed.ADD)),
    ]
    with server.channel() as ch:
        stub = pb.events_pb2_grpc.EventIngestStub(ch)
        for e in evs:
            assert stub.Publish(e, timeout=10).result == m.Ack.ACCEPTED
    return R, I, S, P, X


def keyset(refs):
    return {(r.product, r.lot, r.serial, r.container) for r in refs}


def k(r):
    return (r.product, r.lot, r.serial, r.container)


def statuses(pb, server, start):
    g = pb.genealogy_pb2
    with server.channel() as ch:
        r = pb.genealogy_pb2_grpc.GenealogyStub(ch).Trace(
            g.TraceRequest(lot=start, direction=pb.common_pb2.FORWARD), timeout=10)
    return {k(n.lot): n.status for n in r.nodes if n.HasField("lot")}


def quality(pb, server):
    return pb.quality_pb2_grpc.QualityStub(server.channel())


def ship(pb, eid, what):
    m = pb.events_pb2
    return mk(pb, eid, shipped=m.Shipped(lot=what, qty=q(pb, 1, "Units"), customer="CUST", delivery="OUT/1"))


def test_hold_propagates_refuses_shipping_and_release_undoes_it(pb, server, ids):
    R, I, S, P, X = build(pb, server, ids)
    qs = quality(pb, server)
    m = pb.events_pb2
    held = qs.PlaceHold(pb.quality_pb2.HoldRequest(lot=R, reason="supplier recall"), timeout=10).held
    assert keyset(held) == {k(R), k(I), k(S), k(P)}
    st = statuses(pb, server, R)
    assert st[k(R)] == st[k(I)] == st[k(S)] == st[k(P)] == "hold"
    assert statuses(pb, server, X)[k(X)] == "active"

    ingest = pb.events_pb2_grpc.EventIngestStub(server.channel())
    with pytest.raises(grpc.RpcError) as e:
        ingest.Publish(ship(pb, f"{ids}-ship-P", P), timeout=10)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "hold" in e.value.details()
    acks = list(ingest.PublishStream(iter([ship(pb, f"{ids}-ship-S", S), ship(pb, f"{ids}-ship-X", X)]), timeout=10))
    assert [a.result for a in acks] == [m.Ack.REJECTED, m.Ack.ACCEPTED]
    assert acks[0].field == "shipped.lot" and "hold" in acks[0].reason
    assert server.scalar("SELECT count(*) FROM refused_events WHERE kind = 'shipment_refused' AND event_id LIKE ?",
                         (f"{ids}-%",)) == 2
    assert server.scalar("SELECT count(*) FROM events WHERE event_id = ?", (f"{ids}-ship-P",)) == 0

    released = qs.ReleaseHold(pb.quality_pb2.HoldRequest(lot=R, reason="cleared"), timeout=10).held
    assert keyset(released) == {k(R), k(I), k(S), k(P)}
    st = statuses(pb, server, R)
    assert set(st.values()) == {"active"}
    # The refused event was not stored: the same event id goes through now.
    assert ingest.Publish(ship(pb, f"{ids}-ship-P", P), timeout=10).result == m.Ack.ACCEPTED
    assert statuses(pb, server, P)[k(P)] == "shipped"


def test_overlapping_holds_and_no_propagation(pb, server, ids):
    R, I, S, P, X = build(pb, server, ids)
    qs = quality(pb, server)
    hr = pb.quality_pb2.HoldRequest
    assert keyset(qs.PlaceHold(hr(lot=I, reason="out of spec"), timeout=10).held) == {k(I), k(S), k(P)}
    assert keyset(qs.PlaceHold(hr(lot=R, reason="recall"), timeout=10).held) == {k(R), k(I), k(S), k(P)}
    # Releasing R frees only what no other hold covers: R itself.
    assert keyset(qs.ReleaseHold(hr(lot=R), timeout=10).held) == {k(R)}
    st = statuses(pb, server, R)
    assert st[k(R)] == "active" and st[k(I)] == st[k(S)] == st[k(P)] == "hold"
    assert keyset(qs.ReleaseHold(hr(lot=I), timeout=10).held) == {k(I), k(S), k(P)}
    assert set(statuses(pb, server, R).values()) == {"active"}
    # propagate = false holds the lot alone.
    assert keyset(qs.PlaceHold(hr(lot=R, propagate=False), timeout=10).held) == {k(R)}
    st = statuses(pb, server, R)
    assert st[k(R)] == "hold" and st[k(I)] == "active"
    qs.ReleaseHold(hr(lot=R), timeout=10)


def test_scrap_while_held_survives_the_release(pb, server, ids):
    R, I, S, P, X = build(pb, server, ids)
    qs = quality(pb, server)
    m = pb.events_pb2
    qs.PlaceHold(pb.quality_pb2.HoldRequest(lot=X, reason="check"), timeout=10)
    ingest = pb.events_pb2_grpc.EventIngestStub(server.channel())
    assert ingest.Publish(mk(pb, f"{ids}-scrap", scrapped=m.Scrapped(lot=X, qty=q(pb, 10), reason="bad")),
                          timeout=10).result == m.Ack.ACCEPTED
    assert statuses(pb, server, X)[k(X)] == "hold"
    qs.ReleaseHold(pb.quality_pb2.HoldRequest(lot=X), timeout=10)
    assert statuses(pb, server, X)[k(X)] == "scrapped"


def test_hold_errors(pb, server, ids):
    R, I, S, P, X = build(pb, server, ids)
    qs = quality(pb, server)
    hr = pb.quality_pb2.HoldRequest
    for call, req, code in ((qs.PlaceHold, hr(lot=lot(pb, "NOPE", "X")), grpc.StatusCode.NOT_FOUND),
                            (qs.ReleaseHold, hr(lot=S), grpc.StatusCode.FAILED_PRECONDITION),
                            (qs.PlaceHold, hr(lot=lot(pb, "GLUE")), grpc.StatusCode.INVALID_ARGUMENT)):
        with pytest.raises(grpc.RpcError) as e:
            call(req, timeout=10)
        assert e.value.code() == code


def test_exceptions_command_lists_refused_shipments(pb, server, ids, binary):
    R, I, S, P, X = build(pb, server, ids)
    quality(pb, server).PlaceHold(pb.quality_pb2.HoldRequest(lot=R, reason="recall"), timeout=10)
    with pytest.raises(grpc.RpcError):
        pb.events_pb2_grpc.EventIngestStub(server.channel()).Publish(ship(pb, f"{ids}-ship-S", S), timeout=10)
    out = subprocess.run([str(binary), "exceptions", "--data", str(server.data)], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    assert "shipment_refused:" in out.stdout and f"{ids}-ship-S" in out.stdout


def test_hold_on_quality_fail_may_be_a_json_boolean_in_the_config_file(pb, server_factory, ids, tmp_path):
    """{"hold-on-quality-fail": true} is what people write; it used to be refused as "must be a string"."""
    m = pb.events_pb2
    cfg = tmp_path / "mesgate.json"
    cfg.write_text('{"hold-on-quality-fail": true}')
    srv = server_factory(extra_args=["--config", str(cfg)])
    R, I, S, P, X = build(pb, srv, ids)
    fail = mk(pb, f"{ids}-qc", quality=m.QualityResult(lot=I, check="moisture", outcome=m.QualityResult.FAIL))
    with srv.channel() as ch:
        assert pb.events_pb2_grpc.EventIngestStub(ch).Publish(fail, timeout=10).result == m.Ack.ACCEPTED
    assert statuses(pb, srv, R)[k(I)] == "hold"


def test_quality_fail_places_a_hold_when_configured(pb, server, server_factory, ids):
    m = pb.events_pb2
    for srv, expect in ((server, "active"), (server_factory(extra_args=["--hold-on-quality-fail"]), "hold")):
        R, I, S, P, X = build(pb, srv, ids)
        fail = mk(pb, f"{ids}-qc", quality=m.QualityResult(lot=I, check="moisture", outcome=m.QualityResult.FAIL))
        with srv.channel() as ch:
            assert pb.events_pb2_grpc.EventIngestStub(ch).Publish(fail, timeout=10).result == m.Ack.ACCEPTED
        st = statuses(pb, srv, R)
        assert st[k(I)] == st[k(S)] == st[k(P)] == expect and st[k(R)] == "active"
        if expect == "hold":
            assert "moisture" in srv.scalar("SELECT reason FROM holds ORDER BY id DESC LIMIT 1")
            released = quality(pb, srv).ReleaseHold(pb.quality_pb2.HoldRequest(lot=I), timeout=10).held
            assert keyset(released) == {k(I), k(S), k(P)}


def test_lots_made_from_a_held_lot_after_the_hold_are_held(pb, server, ids):
    """Hold R, then make new lots from it (consumed into N1; order-level into MO3, which reports N2;
    N1 split into N1S): each is held under R's hold, cannot ship, shows `hold`; the release frees them."""
    R, I, S, P, X = build(pb, server, ids)
    m, hr = pb.events_pb2, pb.quality_pb2.HoldRequest
    qs = quality(pb, server)
    ingest = pb.events_pb2_grpc.EventIngestStub(server.channel())
    qs.PlaceHold(hr(lot=R, reason="supplier recall"), timeout=10)
    N1, N2, N1S = lot(pb, "NEW", f"N1-{ids}"), lot(pb, "NEW", f"N2-{ids}"), lot(pb, "NEW", f"N1S-{ids}")
    for e in (mk(pb, f"{ids}-c1", wo=f"MO9-{ids}", consumed=m.MaterialConsumed(component=R, qty=q(pb, 1), into=N1)),
              mk(pb, f"{ids}-c2", wo=f"MO3-{ids}", consumed=m.MaterialConsumed(component=R, qty=q(pb, 1))),
              mk(pb, f"{ids}-p2", wo=f"MO3-{ids}", produced=m.ProductionReported(output=N2, good=q(pb, 3, "Units"))),
              mk(pb, f"{ids}-s1", moved=m.Moved(lot=N1, qty=q(pb, 1), new_lot=N1S))):
        assert ingest.Publish(e, timeout=10).result == m.Ack.ACCEPTED
    st = statuses(pb, server, R)
    assert st[k(N1)] == st[k(N2)] == st[k(N1S)] == "hold"
    hold_id = server.scalar("SELECT id FROM holds WHERE released_at_ms IS NULL ORDER BY id DESC LIMIT 1")
    assert server.scalar("SELECT count(*) FROM hold_items i JOIN nodes n ON n.id = i.node_id "
                         "WHERE i.hold_id = ? AND n.product = 'NEW'", (hold_id,)) == 3
    for what in (N1, N2, N1S):
        with pytest.raises(grpc.RpcError) as e:
            ingest.Publish(ship(pb, f"{ids}-ship-{what.lot}", what), timeout=10)
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "hold" in e.value.details()

    released = qs.ReleaseHold(hr(lot=R, reason="cleared"), timeout=10).held
    assert {k(N1), k(N2), k(N1S)} <= keyset(released)
    assert set(statuses(pb, server, R).values()) == {"active"}
    for what in (N1, N2, N1S):
        assert ingest.Publish(ship(pb, f"{ids}-ship-{what.lot}", what), timeout=10).result == m.Ack.ACCEPTED
    assert statuses(pb, server, R)[k(N2)] == "shipped"


def run_cli(binary, *args, timeout=60):
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=timeout)


def test_a_hold_says_what_already_shipped_and_what_another_hold_covers(pb, server, ids, binary):
    R, I, S, P, X = build(pb, server, ids)
    m = pb.events_pb2
    ingest = pb.events_pb2_grpc.EventIngestStub(server.channel())
    # The serial made from I left for a customer before anyone knew.
    assert ingest.Publish(mk(pb, f"{ids}-ship-S", shipped=m.Shipped(lot=S, qty=q(pb, 1, "Units"), customer="ACME Pumps",
                                                                     delivery=f"WH/OUT/{ids}")),
                          timeout=10).result == m.Ack.ACCEPTED
    qs = quality(pb, server)
    hr = pb.quality_pb2.HoldRequest
    first = qs.PlaceHold(hr(lot=I, reason="out of spec"), timeout=10)
    assert [(k(s.lot), s.customer, s.delivery) for s in first.shipped] == [(k(S), "ACME Pumps", f"WH/OUT/{ids}")]
    assert list(first.still_held) == []

    # Through the CLI, on the server: the recall is spelled out, and what the first hold already covers.
    out = run_cli(binary, "hold", "--server", server.address, "--product", "RAW", "--lot", f"R-{ids}",
                  "--reason", "supplier recall")
    assert out.returncode == 0, out.stderr
    assert f"Held RAW lot R-{ids} and what is made from it: 4 item(s)." in out.stdout, out.stdout
    assert f"RECALL NEEDED: 1 shipment(s) of held items left already:" in out.stdout, out.stdout
    assert "to ACME Pumps, delivery WH/OUT/" in out.stdout, out.stdout
    assert "Already held by another hold too:" in out.stdout and f"lot I-{ids}" in out.stdout, out.stdout

    # Releasing R leaves what the first hold covers held, and says so.
    out = run_cli(binary, "release", "--server", server.address, "--product", "RAW", "--lot", f"R-{ids}",
                  "--reason", "supplier cleared", "--json")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["freed"] == [f"RAW lot R-{ids}"], answer
    assert f"INT lot I-{ids}" in answer["still_held"], answer

    # A hold on the store folder itself is refused while the server runs on it.
    out = run_cli(binary, "hold", "--data", str(server.data), "--product", "RAW", "--lot", f"R-{ids}", "--reason", "x")
    assert out.returncode != 0
    assert "--server HOST:PORT" in out.stderr, out.stderr
    # Errors are named.
    out = run_cli(binary, "release", "--server", server.address, "--product", "RAW", "--lot", f"R-{ids}",
                  "--reason", "again")
    assert out.returncode != 0 and "FAILED_PRECONDITION (9): no open hold" in out.stderr, out.stderr
    out = run_cli(binary, "hold", "--server", server.address, "--product", "RAW", "--lot", "NOPE", "--reason", "x")
    assert out.returncode != 0 and "NOT_FOUND (5)" in out.stderr, out.stderr


def test_hold_and_release_on_a_store_folder_are_audited_under_the_account(pb, server_factory, ids, binary):
    srv = server_factory([])
    R, I, S, P, X = build(pb, srv, ids)
    srv.stop()
    out = run_cli(binary, "hold", "--data", str(srv.data), "--product", "INT", "--lot", f"I-{ids}",
                  "--reason", "lab sample odd")
    assert out.returncode == 0, out.stderr
    assert "3 item(s)" in out.stdout and "Nothing of it has shipped." in out.stdout, out.stdout
    srv.start()
    ingest = pb.events_pb2_grpc.EventIngestStub(srv.channel())
    with pytest.raises(grpc.RpcError) as e:
        ingest.Publish(ship(pb, f"{ids}-ship-P", P), timeout=10)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    account = pwd.getpwuid(os.getuid()).pw_name
    assert srv.scalar("SELECT count(*) FROM audit_log WHERE action = 'hold_placed' AND actor LIKE ?",
                      (f"{account}%mesgate hold%",)) == 1


def test_history_lists_a_lots_events_from_the_store_and_the_server(pb, server, ids, binary):
    R, I, S, P, X = build(pb, server, ids)
    local = run_cli(binary, "history", "--data", str(server.data), "--product", "INT", "--lot", f"I-{ids}")
    remote = run_cli(binary, "history", "--server", server.address, "--product", "INT", "--lot", f"I-{ids}")
    assert local.returncode == 0 and remote.returncode == 0, (local.stderr, remote.stderr)
    assert local.stdout == remote.stdout
    lines = local.stdout.splitlines()
    # I was produced by MO-<ids>, consumed into the serial, packed on the pallet.
    assert lines[0] == f"History of INT lot I-{ids}: 3 event(s)", lines
    assert f"INT lot I-{ids} produced" in lines[1] and f"[{ids}-4 from " in lines[1], lines
    assert "consumed into FG serial" in lines[2] and f"[{ids}-5 from " in lines[2], lines
    assert "packed into" in lines[3] and f"PAL-{ids}" in lines[3], lines
    stamp = time.strftime("%Y-%m-%d")
    assert all(line.startswith(stamp) for line in lines[1:]), lines  # local date and time, with the zone
    as_json = json.loads(run_cli(binary, "history", "--data", str(server.data), "--product", "INT", "--lot",
                                 f"I-{ids}", "--json").stdout)
    assert [e["event_id"] for e in as_json] == [f"{ids}-4", f"{ids}-5", f"{ids}-6"]
    missing = run_cli(binary, "history", "--server", server.address, "--product", "INT", "--lot", "NOPE")
    assert missing.returncode != 0 and "NOT_FOUND (5)" in missing.stderr, missing.stderr


def test_lots_finds_by_product_prefix_order_customer_and_date(pb, server, ids, binary):
    R, I, S, P, X = build(pb, server, ids)
    ingest = pb.events_pb2_grpc.EventIngestStub(server.channel())
    assert ingest.Publish(mk(pb, f"{ids}-ship-X", shipped=pb.events_pb2.Shipped(
        lot=X, qty=q(pb, 1), customer=f"Cust-{ids}", delivery="OUT/9")), timeout=10).result == pb.events_pb2.Ack.ACCEPTED

    def lots(*args):
        out = run_cli(binary, "lots", "--data", str(server.data), "--json", *args)
        assert out.returncode == 0, out.stderr
        return {(x["product"], x["lot"] or x["serial"] or x["container"]) for x in json.loads(out.stdout)}

    assert lots("--product", "RAW", "--prefix", "R-" + ids) == {("RAW", f"R-{ids}")}
    assert lots("--prefix", f"X-{ids}") == {("RAW", f"X-{ids}")}
    assert lots("--order", f"MO-{ids}") == {("RAW", f"R-{ids}"), ("INT", f"I-{ids}")}
    assert lots("--order", f"MO2-{ids}") == {("INT", f"I-{ids}"), ("FG", f"S-{ids}")}
    assert lots("--customer", f"Cust-{ids}") == {("RAW", f"X-{ids}")}
    today = time.strftime("%Y-%m-%d")
    assert ("RAW", f"R-{ids}") in lots("--since", today, "--prefix", f"R-{ids}")
    assert lots("--until", today, "--prefix", f"R-{ids}") == set()
    text = run_cli(binary, "lots", "--data", str(server.data), "--prefix", f"NONE-{ids}")
    assert text.returncode == 0 and text.stdout.strip() == "Nothing matches."
    for bad, says in [(["--since", "2026-12-05", "--until", "2026-12-04"], "must be before --until"),
                      (["--since", "yesterday"], "--since must be a date"), (["--limit", "0"], "--limit must be")]:
        out = run_cli(binary, "lots", "--data", str(server.data), *bad)
        assert out.returncode != 0 and says in out.stderr, (bad, out.stderr)


def test_people_read_local_times_with_their_zone(pb, server, ids, binary):
    R, I, S, P, X = build(pb, server, ids)
    quality(pb, server).PlaceHold(pb.quality_pb2.HoldRequest(lot=R, reason="recall"), timeout=10)
    env = {**os.environ, "TZ": "Europe/Berlin"}
    z = datetime.now(ZoneInfo("Europe/Berlin")).strftime("%z")
    offset = f" {z[:3]}:{z[3:]} "
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 3600))
    audit = subprocess.run([str(binary), "audit", "list", "--data", str(server.data), "--action", "hold_placed",
                            "--since", day], capture_output=True, text=True, timeout=30, env=env)
    assert audit.returncode == 0, audit.stderr
    line = audit.stdout.strip().splitlines()[-1]
    assert offset in line, line
    history = subprocess.run([str(binary), "history", "--data", str(server.data), "--product", "RAW", "--lot",
                              f"R-{ids}"], capture_output=True, text=True, timeout=30, env=env)
    assert all(offset in x for x in history.stdout.splitlines()[1:]), history.stdout


def test_a_refused_shipment_is_counted_as_refused_not_as_a_store_failure(pb, server_factory, ids):
    srv = server_factory([])
    R, I, S, P, X = build(pb, srv, ids)
    quality(pb, srv).PlaceHold(pb.quality_pb2.HoldRequest(lot=R, reason="recall"), timeout=10)
    with pytest.raises(grpc.RpcError):
        pb.events_pb2_grpc.EventIngestStub(srv.channel()).Publish(ship(pb, f"{ids}-ship-P", P), timeout=10)
    status, _, text = admin_get(srv, "/metrics")
    assert status == 200
    values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
              if line.startswith("mesgate_store_events_")}
    assert values.get("mesgate_store_events_refused_total") == 1, values
    assert values.get("mesgate_store_events_failed_total", 0) == 0, values
