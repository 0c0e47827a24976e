"""A full store queue slows PublishStream clients through HTTP/2 flow control: nothing is
refused, nothing is lost. (A unary Publish meeting a full queue gets UNAVAILABLE instead.)"""

import threading

import grpc

from mesevents import event

STREAMS = 6
PER_STREAM = 1500


def test_a_full_queue_slows_streams_without_refusing_or_losing(server_factory, pb):
    # A queue of 16 events: the writer is always behind, so streams must wait for room.
    srv = server_factory(["--queue-capacity", "16"])
    Ack = pb.events_pb2.Ack
    results: dict[int, list] = {}
    errors: list[str] = []

    def publish(s: int):
        evs = [event("received", event_id=f"bp-{s}-{i}", tag=f"bp-{s}-{i // 50}") for i in range(PER_STREAM)]
        try:
            with srv.channel() as ch:
                stub = pb.events_pb2_grpc.EventIngestStub(ch)
                results[s] = [(a.event_id, a.result) for a in stub.PublishStream(iter(evs), timeout=120)]
        except grpc.RpcError as e:
            errors.append(f"stream {s}: {e.code()} {e.details()}")

    threads = [threading.Thread(target=publish, args=(s,)) for s in range(STREAMS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors
    for s in range(STREAMS):
        acks = results[s]
        assert [i for i, _ in acks] == [f"bp-{s}-{i}" for i in range(PER_STREAM)], f"stream {s}: acks out of order"
        refused = [i for i, r in acks if r != Ack.ACCEPTED]
        assert not refused, f"stream {s}: {len(refused)} not ACCEPTED, e.g. {refused[:3]}"
    assert srv.scalar("SELECT COUNT(*) FROM events WHERE event_id LIKE 'bp-%'") == STREAMS * PER_STREAM
