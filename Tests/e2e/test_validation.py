"""Validation: each rule of MESDomain.EventValidator on Publish (INVALID_ARGUMENT naming the
field) and on PublishStream (a REJECTED Ack with `field`, in order, the stream going on)."""

import grpc
import pytest

from conftest import RPC_TIMEOUT_S
from mesevents import INVALID_CASES, KINDS, event, invalid_event, names_field


@pytest.fixture(scope="module")
def ingest(server, pb):
    ch = server.channel()
    yield pb.events_pb2_grpc.EventIngestStub(ch)
    ch.close()


@pytest.mark.parametrize("case", INVALID_CASES, ids=[c[0] for c in INVALID_CASES])
def test_unary_invalid_event_is_invalid_argument_naming_the_field(server, ingest, case):
    field = case[3]
    e = invalid_event(case)
    before = server.scalar("SELECT COUNT(*) FROM events")
    with pytest.raises(grpc.RpcError) as info:
        ack = ingest.Publish(e, timeout=RPC_TIMEOUT_S)
        pytest.fail(f"expected INVALID_ARGUMENT naming {field}, got an Ack: {ack}")
    err = info.value
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, f"{err.code()}: {err.details()}"
    assert names_field(err.details() or "", field), f"details {err.details()!r} do not name {field!r}"
    assert server.scalar("SELECT COUNT(*) FROM events") == before, "an invalid event was stored"
    if e.event_id:
        assert server.scalar("SELECT COUNT(*) FROM events WHERE event_id = ?", (e.event_id,)) == 0


def test_invalid_event_id_can_be_reused_once_fixed(ingest, pb):
    bad = invalid_event(next(c for c in INVALID_CASES if c[0] == "consumed.qty.value-zero"))
    with pytest.raises(grpc.RpcError) as info:
        ingest.Publish(bad, timeout=RPC_TIMEOUT_S)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    bad.consumed.qty.value = 3.0
    ack = ingest.Publish(bad, timeout=RPC_TIMEOUT_S)
    assert ack.result == pb.events_pb2.Ack.ACCEPTED, "a rejected event_id was remembered as published"


def test_stream_rejects_each_invalid_event_in_order_and_goes_on(server, ingest, pb):
    Ack = pb.events_pb2.Ack
    sent, expected = [], []  # expected: (result, field or None)
    for i, case in enumerate(INVALID_CASES):
        good = event(KINDS[i % len(KINDS)])
        sent.append(good)
        expected.append((Ack.ACCEPTED, None))
        sent.append(invalid_event(case))
        expected.append((Ack.REJECTED, case[3]))
    tail = event("moved")
    sent.append(tail)
    expected.append((Ack.ACCEPTED, None))
    before = server.scalar("SELECT COUNT(*) FROM events")

    acks = list(ingest.PublishStream(iter(sent), timeout=60))

    assert len(acks) == len(sent), f"{len(acks)} acks for {len(sent)} events"
    last_seq = 0
    problems = []
    for i, (e, ack, (result, field)) in enumerate(zip(sent, acks, expected)):
        where = f"#{i} ({INVALID_CASES[i // 2][0] if result == Ack.REJECTED else 'valid'})"
        # An id with a NUL cannot be answered whole: its REJECTED Ack has none.
        if ack.event_id != ("" if "\0" in e.event_id else e.event_id):
            problems.append(f"{where}: ack for {ack.event_id!r}, sent {e.event_id!r} (out of order?)")
            continue
        if ack.result != result:
            problems.append(f"{where}: result {Ack.Result.Name(ack.result)}, expected {Ack.Result.Name(result)}"
                            f" (field={ack.field!r} reason={ack.reason!r})")
            continue
        if result == Ack.REJECTED:
            if ack.field != field:
                problems.append(f"{where}: field {ack.field!r}, expected {field!r}")
            if not ack.reason:
                problems.append(f"{where}: REJECTED without a reason")
            if ack.sequence != 0:
                problems.append(f"{where}: REJECTED with sequence {ack.sequence}")
        else:
            if ack.sequence <= last_seq:
                problems.append(f"{where}: sequence {ack.sequence} not above {last_seq}")
            last_seq = ack.sequence
    assert not problems, "\n".join(problems)
    accepted = sum(1 for r, _ in expected if r == Ack.ACCEPTED)
    assert server.scalar("SELECT COUNT(*) FROM events") == before + accepted


def test_stream_rejected_event_does_not_block_its_id(server, ingest, pb):
    Ack = pb.events_pb2.Ack
    bad = invalid_event(next(c for c in INVALID_CASES if c[0] == "shipped.customer-missing"))
    good = event("shipped", event_id=bad.event_id)
    acks = list(ingest.PublishStream(iter([bad, good, good]), timeout=RPC_TIMEOUT_S))
    assert [a.result for a in acks] == [Ack.REJECTED, Ack.ACCEPTED, Ack.DUPLICATE], [str(a) for a in acks]
    assert acks[1].sequence == acks[2].sequence > 0


def test_an_id_with_a_nul_is_refused_and_does_not_take_the_id_before_it(server, ingest, pb):
    """protobuf-c reads strings as C strings: `X\\0nul` was acked and stored as `X`, and the later,
    different event `X` answered DUPLICATE (its data lost)."""
    Ack = pb.events_pb2.Ack
    base = event("received")
    cut = event("received", event_id=base.event_id + "\0nul")
    with pytest.raises(grpc.RpcError) as info:
        ingest.Publish(cut, timeout=RPC_TIMEOUT_S)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == "event_id: contains a NUL character"
    acks = list(ingest.PublishStream(iter([cut, base]), timeout=RPC_TIMEOUT_S))
    assert [(a.result, a.field) for a in acks] == [(Ack.REJECTED, "event_id"), (Ack.ACCEPTED, "")], [str(a) for a in acks]
    assert acks[0].reason == "contains a NUL character"
    assert server.scalar("SELECT COUNT(*) FROM events WHERE event_id = ?", (base.event_id,)) == 1


def test_a_nul_in_a_trace_or_hold_request_is_invalid_argument_naming_the_field(server, ingest, pb):
    ch = server.channel()
    try:
        genealogy = pb.genealogy_pb2_grpc.GenealogyStub(ch)
        quality = pb.quality_pb2_grpc.QualityStub(ch)
        received = event("received")
        ingest.Publish(received, timeout=RPC_TIMEOUT_S)
        known = received.received.lot
        cut = pb.common_pb2.LotRef(product=known.product, lot=known.lot + "\0X")
        calls = {
            "Trace": lambda: genealogy.Trace(
                pb.genealogy_pb2.TraceRequest(lot=cut, direction=pb.common_pb2.FORWARD), timeout=RPC_TIMEOUT_S),
            "PlaceHold": lambda: quality.PlaceHold(pb.quality_pb2.HoldRequest(lot=cut, reason="r"), timeout=RPC_TIMEOUT_S),
            "PlaceHold reason": lambda: quality.PlaceHold(
                pb.quality_pb2.HoldRequest(lot=known, reason="supplier\0recall"), timeout=RPC_TIMEOUT_S),
            "LotHistory": lambda: list(genealogy.LotHistory(cut, timeout=RPC_TIMEOUT_S)),
        }
        expected = {"Trace": "lot.lot", "PlaceHold": "lot.lot", "PlaceHold reason": "reason", "LotHistory": "lot"}
        for name, call in calls.items():
            with pytest.raises(grpc.RpcError) as info:
                call()
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, f"{name}: {info.value.code()}"
            assert info.value.details() == f"{expected[name]}: contains a NUL character", name
        assert server.scalar("SELECT COUNT(*) FROM holds") == 0
    finally:
        ch.close()
