"""mes.v1.EventIngest/Publish (unary): accepted, duplicate, unknown lots, gzip, edge cases."""

import subprocess

import grpc
import pytest

from conftest import RPC_TIMEOUT_S
from mesevents import KINDS, VALID_EDGE_CASES, event, new_event_id, valid_edge_event


@pytest.fixture(scope="module")
def ingest(server, pb):
    ch = server.channel()
    yield pb.events_pb2_grpc.EventIngestStub(ch)
    ch.close()


def test_every_body_kind_is_accepted_with_increasing_sequences(server, ingest, pb):
    Ack = pb.events_pb2.Ack
    tag = new_event_id("tag")[-12:]
    before = server.scalar("SELECT COUNT(*) FROM events")
    seqs, stored_kinds = [], []
    for kind in KINDS:
        e = event(kind, tag=tag)
        ack = ingest.Publish(e, timeout=RPC_TIMEOUT_S)
        assert ack.result == Ack.ACCEPTED, f"{kind}: {ack}"
        assert ack.event_id == e.event_id
        assert ack.sequence > 0, f"{kind}: sequence {ack.sequence}"
        seqs.append(ack.sequence)
        rows = server.query("SELECT sequence, kind, raw FROM events WHERE event_id = ?", (e.event_id,))
        assert len(rows) == 1, f"{kind}: {len(rows)} rows for {e.event_id}"
        assert rows[0][0] == ack.sequence, f"{kind}: stored sequence {rows[0][0]} != acked {ack.sequence}"
        stored_kinds.append(rows[0][1])
        assert rows[0][2] is not None and len(rows[0][2]) > 0, "raw is empty"
    assert len(set(stored_kinds)) == len(KINDS), f"events.kind does not tell the bodies apart: {stored_kinds}"
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), f"sequences not strictly increasing: {seqs}"
    assert server.scalar("SELECT COUNT(*) FROM events") == before + len(KINDS)


def test_raw_holds_the_event_as_sent(server, ingest, pb):
    e = event("produced")
    ack = ingest.Publish(e, timeout=RPC_TIMEOUT_S)
    assert ack.result == pb.events_pb2.Ack.ACCEPTED
    raw = server.scalar("SELECT raw FROM events WHERE event_id = ?", (e.event_id,))
    stored = pb.events_pb2.Event.FromString(bytes(raw))
    assert stored == e


def test_duplicate_returns_original_sequence_and_stores_nothing(server, ingest, pb):
    Ack = pb.events_pb2.Ack
    e = event("received")
    first = ingest.Publish(e, timeout=RPC_TIMEOUT_S)
    assert first.result == Ack.ACCEPTED
    count = server.scalar("SELECT COUNT(*) FROM events")
    outbox = server.scalar("SELECT COUNT(*) FROM outbox")
    # Same id and content: DUPLICATE of the first, also when encoded otherwise (a field sent twice,
    # the last one counting, decodes to the same event).
    again = ingest.Publish(e, timeout=RPC_TIMEOUT_S)
    reencoded = server.channel().unary_unary(
        "/mes.v1.EventIngest/Publish", request_serializer=lambda b: b,
        response_deserializer=pb.events_pb2.Ack.FromString)(
        e.SerializeToString() + pb.events_pb2.Event(event_id=e.event_id).SerializeToString(), timeout=RPC_TIMEOUT_S)
    for ack in (again, reencoded):
        assert ack.result == Ack.DUPLICATE, str(ack)
        assert ack.sequence == first.sequence, f"duplicate sequence {ack.sequence} != original {first.sequence}"
        assert ack.event_id == e.event_id
    assert server.scalar("SELECT COUNT(*) FROM events") == count
    assert server.scalar("SELECT COUNT(*) FROM outbox") == outbox, "a duplicate wrote an outbox row"
    assert server.scalar("SELECT COUNT(*) FROM events WHERE event_id = ?", (e.event_id,)) == 1


def test_a_reused_event_id_with_another_body_is_refused_and_recorded(server, ingest, pb, binary):
    """It used to answer DUPLICATE: the second event's data was lost without anyone knowing."""
    Ack = pb.events_pb2.Ack
    e = event("received")
    first = ingest.Publish(e, timeout=RPC_TIMEOUT_S)
    changed = event("shipped", event_id=e.event_id)
    with pytest.raises(grpc.RpcError) as info:
        ingest.Publish(changed, timeout=RPC_TIMEOUT_S)
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert info.value.details().startswith(
        f"event_id: event_id {e.event_id} is stored already (sequence {first.sequence}) with another body"), \
        info.value.details()
    acks = list(ingest.PublishStream(iter([changed, e]), timeout=RPC_TIMEOUT_S))
    assert [(a.result, a.field) for a in acks] == [(Ack.REJECTED, "event_id"), (Ack.DUPLICATE, "")], \
        [str(a) for a in acks]
    assert f"(sequence {first.sequence})" in acks[0].reason
    assert server.scalar("SELECT COUNT(*) FROM events WHERE event_id = ?", (e.event_id,)) == 1
    assert server.scalar("SELECT kind FROM events WHERE event_id = ?", (e.event_id,)) == "received"
    assert server.scalar("SELECT COUNT(*) FROM refused_events WHERE kind = 'event_id_reused' AND event_id = ?",
                         (e.event_id,)) == 2
    out = subprocess.run([str(binary), "exceptions", "--data", str(server.data)], capture_output=True, text=True,
                         timeout=30)
    assert "event_id_reused:" in out.stdout and e.event_id in out.stdout, out.stdout


@pytest.mark.parametrize("case", VALID_EDGE_CASES, ids=[c[0] for c in VALID_EDGE_CASES])
def test_edge_cases_the_rules_allow_are_accepted(server, ingest, pb, case):
    e = valid_edge_event(case)
    try:
        ack = ingest.Publish(e, timeout=RPC_TIMEOUT_S)
    except grpc.RpcError as err:
        pytest.fail(f"{case[0]}: {err.code()} {err.details()}")
    assert ack.result == pb.events_pb2.Ack.ACCEPTED, str(ack)
    assert server.scalar("SELECT COUNT(*) FROM events WHERE event_id = ?", (e.event_id,)) == 1


# The results Odoo needs (production, consumption, operations, scrap, downtime, quality) get an
# outbox row in the same transaction as the event: one row per accepted event, under its sequence.
@pytest.mark.parametrize("kind", ["produced", "consumed", "operation", "scrapped", "downtime", "quality"])
def test_event_odoo_needs_has_one_outbox_row_under_its_sequence(server, ingest, pb, kind):
    e = event(kind)
    ack = ingest.Publish(e, timeout=RPC_TIMEOUT_S)
    assert ack.result == pb.events_pb2.Ack.ACCEPTED, str(ack)
    rows = server.query("SELECT COUNT(*) FROM outbox WHERE sequence = ?", (ack.sequence,))
    assert rows == [(1,)], f"outbox rows for {kind} sequence {ack.sequence}: {rows}"


def _unknown_lot_exceptions(server) -> int:
    return server.scalar("SELECT COUNT(*) FROM exceptions WHERE kind = 'unknown_lot'")


@pytest.mark.parametrize("kind", ["consumed", "shipped"])
def test_unknown_lot_is_accepted_and_recorded_as_exception(server, ingest, pb, kind):
    before = _unknown_lot_exceptions(server)
    events_before = server.scalar("SELECT COUNT(*) FROM events")
    e = event(kind, tag=new_event_id("never-received"))  # no receipt/production for this lot
    ack = ingest.Publish(e, timeout=RPC_TIMEOUT_S)
    assert ack.result == pb.events_pb2.Ack.ACCEPTED, str(ack)
    assert server.scalar("SELECT COUNT(*) FROM events") == events_before + 1
    after = _unknown_lot_exceptions(server)
    assert after > before, f"no 'unknown_lot' exceptions row for a {kind} of a lot never seen ({before} -> {after})"


def test_known_lot_makes_no_unknown_lot_exception(server, ingest, pb):
    tag = new_event_id("known")[-12:]
    assert ingest.Publish(event("received", tag=tag), timeout=RPC_TIMEOUT_S).result == pb.events_pb2.Ack.ACCEPTED
    before = _unknown_lot_exceptions(server)
    e = event("scrapped", tag=tag)  # scraps the received steel lot
    assert ingest.Publish(e, timeout=RPC_TIMEOUT_S).result == pb.events_pb2.Ack.ACCEPTED
    assert _unknown_lot_exceptions(server) == before


def test_gzip_compressed_requests_work(server, pb):
    Ack = pb.events_pb2.Ack
    with server.channel(compression=grpc.Compression.Gzip) as ch:
        stub = pb.events_pb2_grpc.EventIngestStub(ch)
        e = event("scrapped")
        e.scrapped.reason = "P" * 4096  # compressible, so gzip really is used
        ack = stub.Publish(e, timeout=RPC_TIMEOUT_S, compression=grpc.Compression.Gzip)
        assert ack.result == Ack.ACCEPTED, str(ack)
        raw = server.scalar("SELECT raw FROM events WHERE event_id = ?", (e.event_id,))
        assert pb.events_pb2.Event.FromString(bytes(raw)) == e, "gzip request stored a different event"
        events = [event("received") for _ in range(20)]
        acks = list(stub.PublishStream(iter(events), timeout=RPC_TIMEOUT_S, compression=grpc.Compression.Gzip))
        assert [a.event_id for a in acks] == [x.event_id for x in events]
        assert all(a.result == Ack.ACCEPTED for a in acks)


def test_metadata_and_timeout_headers_are_tolerated(server, ingest, pb):
    e = event("operation")
    ack = ingest.Publish(
        e, timeout=RPC_TIMEOUT_S,
        metadata=[("x-plant", "PLANT-1"), ("x-trace-bin", b"\x00\x01\x02\xff"), ("x-empty", "")],
    )
    assert ack.result == pb.events_pb2.Ack.ACCEPTED
