"""gRPC over HTTP/2 behaviour: malformed messages, deadlines, cancellation, size limits, unknown
methods, content-type, health, non-HTTP/2 bytes, stream resets, concurrency."""

import os
import queue
import random
import re
import shutil
import socket
import subprocess
import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import RPC_TIMEOUT_S
from mesevents import event

SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.fixture(scope="module")
def channel(server):
    ch = server.channel()
    yield ch
    ch.close()


@pytest.fixture(scope="module")
def ingest(channel, pb):
    return pb.events_pb2_grpc.EventIngestStub(channel)


def assert_still_serving(server, pb):
    """The process is alive, answers health on a new connection and accepts a new event."""
    assert server.alive(), f"mesgate exited with {server.proc.returncode}"
    with server.channel() as ch:
        r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=RPC_TIMEOUT_S)
        assert r.status == SERVING
        e = event("received")
        ack = pb.events_pb2_grpc.EventIngestStub(ch).Publish(e, timeout=RPC_TIMEOUT_S)
        assert ack.result == pb.events_pb2.Ack.ACCEPTED, str(ack)


# --------------------------------------------------------------------------- health


@pytest.mark.parametrize("service", ["", "mes.v1.EventIngest"])
def test_health_check_serving(channel, service):
    r = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=RPC_TIMEOUT_S)
    assert r.status == SERVING


def test_health_check_unknown_service_is_not_found(channel):
    with pytest.raises(grpc.RpcError) as info:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="no.such.Service"),
                                                  timeout=RPC_TIMEOUT_S)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("service", ["", "mes.v1.EventIngest"])
def test_health_watch_sends_serving_then_stays_open(channel, service):
    call = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=service), timeout=3)
    first = next(call)
    assert first.status == SERVING
    # Nothing changes, so the stream stays open until the deadline.
    with pytest.raises(grpc.RpcError) as info:
        for extra in call:
            assert extra.status == SERVING
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_health_watch_unknown_service_says_service_unknown(channel):
    call = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service="no.such.Service"),
                                                     timeout=5)
    first = next(call)
    assert first.status == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
    call.cancel()


# --------------------------------------------------------------------------- malformed, limits, unknown


@pytest.mark.parametrize(
    "raw",
    [
        b"\x0a\x05ab",  # field 1 (event_id), length 5, only 2 bytes follow
        b"\x0f",  # wire type 7 does not exist
        b"\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",  # varint longer than 10 bytes
        b"\x52\x02\x0a\x7f",  # received (field 10), 2 bytes: its lot (field 1) claims 127 bytes
    ],
    ids=["truncated-string", "bad-wire-type", "overlong-varint", "truncated-nested"],
)
def test_malformed_protobuf_is_invalid_argument(server, channel, pb, raw):
    publish = channel.unary_unary(
        "/mes.v1.EventIngest/Publish",
        request_serializer=None,
        response_deserializer=pb.events_pb2.Ack.FromString,
    )
    before = server.scalar("SELECT COUNT(*) FROM events")
    with pytest.raises(grpc.RpcError) as info:
        ack = publish(raw, timeout=RPC_TIMEOUT_S)
        pytest.fail(f"malformed bytes {raw!r} answered with an Ack: {ack}")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, f"{info.value.code()}: {info.value.details()}"
    assert server.scalar("SELECT COUNT(*) FROM events") == before


def test_malformed_protobuf_on_stream_is_rejected_and_stream_goes_on(channel, pb):
    Ack = pb.events_pb2.Ack
    stream = channel.stream_stream(
        "/mes.v1.EventIngest/PublishStream", request_serializer=None, response_deserializer=Ack.FromString
    )
    a, b = event("received"), event("received")
    msgs = [a.SerializeToString(), b"\x0a\x05ab", b.SerializeToString()]
    try:
        acks = list(stream(iter(msgs), timeout=RPC_TIMEOUT_S))
    except grpc.RpcError as err:
        # Ending the stream with INVALID_ARGUMENT is acceptable too, but only after acking `a`.
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, f"{err.code()}: {err.details()}"
        return
    assert len(acks) == 3, [str(x) for x in acks]
    assert acks[0].result == Ack.ACCEPTED and acks[0].event_id == a.event_id
    assert acks[1].result == Ack.REJECTED
    assert acks[2].result == Ack.ACCEPTED and acks[2].event_id == b.event_id


def test_message_over_4_mib_is_resource_exhausted(server, ingest, pb):
    e = event("received")
    e.plant = "x" * (5 * 1024 * 1024)
    with pytest.raises(grpc.RpcError) as info:
        ingest.Publish(e, timeout=30)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, f"{info.value.code()}: {info.value.details()}"
    assert server.scalar("SELECT COUNT(*) FROM events WHERE event_id = ?", (e.event_id,)) == 0
    assert_still_serving(server, pb)


def test_message_just_under_4_mib_is_accepted(server, ingest, pb):
    """The transport takes it whole and hands it to the service, whose field limits (256 bytes for a
    plant) refuse it: INVALID_ARGUMENT naming the field, not RESOURCE_EXHAUSTED."""
    e = event("received")
    e.plant = "y" * (4 * 1024 * 1024 - 4096)
    assert e.ByteSize() < 4 * 1024 * 1024
    with pytest.raises(grpc.RpcError) as info:
        ingest.Publish(e, timeout=30)
    assert (info.value.code(), info.value.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT, "plant: is longer than 256 bytes")


@pytest.mark.parametrize("path", ["/mes.v1.EventIngest/NoSuchMethod", "/no.such.Service/Publish", "/garbage"])
def test_unknown_method_is_unimplemented(channel, path):
    call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as info:
        call(b"", timeout=RPC_TIMEOUT_S)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED, f"{info.value.code()}: {info.value.details()}"


def _nghttp_status(server, tmp_path, content_type: str) -> str:
    nghttp = shutil.which("nghttp")
    if nghttp is None:
        pytest.fail("nghttp (Debian nghttp2-client) is not installed", pytrace=False)
    body = tmp_path / "body"
    body.write_bytes(b"\x00\x00\x00\x00\x00")
    out = subprocess.run(
        [nghttp, "-v", "-t", "10", "-H", f"content-type: {content_type}", "-H", "te: trailers", "-d", str(body),
         f"http://{server.address}/mes.v1.EventIngest/Publish"],
        capture_output=True, text=True, timeout=30,
    )
    statuses = re.findall(r":status: (\d+)", out.stdout)
    assert statuses, f"no :status in nghttp output:\n{out.stdout}\n{out.stderr}"
    return statuses[0]


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/grpc-web"])
def test_wrong_content_type_is_http_415(server, tmp_path, content_type):
    assert _nghttp_status(server, tmp_path, content_type) == "415"


def test_grpc_content_type_via_nghttp_is_http_200(server, tmp_path):
    # The control case: the same raw request with a gRPC content-type gets :status 200.
    assert _nghttp_status(server, tmp_path, "application/grpc") == "200"


# --------------------------------------------------------------------------- deadlines, cancellation


def test_open_publish_stream_hits_its_deadline(server, ingest, pb):
    idle = threading.Event()

    def events():
        yield event("received")
        idle.wait(5)  # then nothing more: the stream stays open

    call = ingest.PublishStream(events(), timeout=0.5)
    got = []
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as info:
        for ack in call:
            got.append(ack)
    idle.set()
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 5
    # The one event was acked before the deadline, or (on a slow machine) not yet: never otherwise.
    assert len(got) <= 1 and all(a.result == pb.events_pb2.Ack.ACCEPTED for a in got), [str(a) for a in got]
    assert_still_serving(server, pb)


def test_cancel_publish_stream_midway_then_server_still_serves(server, ingest, pb):
    Ack = pb.events_pb2.Ack
    q: queue.Queue = queue.Queue()
    sent = []

    def events():
        while True:
            e = q.get()
            if e is None:
                return
            yield e

    call = ingest.PublishStream(events(), timeout=30)
    acked = []
    for i in range(100):
        e = event("produced")
        sent.append(e)
        q.put(e)
        if i < 50:
            ack = next(call)
            assert ack.result == Ack.ACCEPTED and ack.event_id == e.event_id
            acked.append(ack)
    call.cancel()
    q.put(None)
    with pytest.raises(grpc.RpcError) as info:
        for _ in call:
            pass
    assert info.value.code() == grpc.StatusCode.CANCELLED
    assert_still_serving(server, pb)
    # Acked events are committed, each exactly once and under its acked sequence.
    for ack in acked:
        rows = server.query("SELECT sequence FROM events WHERE event_id = ?", (ack.event_id,))
        assert rows == [(ack.sequence,)], f"{ack.event_id}: {rows} vs acked {ack.sequence}"


def test_2000_reset_streams_leave_the_server_serving(server, pb):
    """Open and cancel (RST_STREAM CANCEL) 2,000 streams over 4 connections, some with an event
    in flight, some unary calls; then the server answers and nothing got duplicated."""
    channels = [server.channel() for _ in range(4)]
    try:
        stubs = [pb.events_pb2_grpc.EventIngestStub(c) for c in channels]
        for c in channels:  # connect first, so the calls below really open streams
            grpc.channel_ready_future(c).result(timeout=RPC_TIMEOUT_S)
        for i in range(2000):
            stub = stubs[i % 4]
            if i % 2 == 0:
                call = stub.PublishStream(iter([event("operation")]), timeout=30)
            else:
                call = stub.Publish.future(event("operation"), timeout=30)
            if i % 10 == 0:
                time.sleep(0.002)  # let some reach the server and the writer before the reset
            call.cancel()
    finally:
        for c in channels:
            c.close()
    time.sleep(0.5)
    assert_still_serving(server, pb)
    dups = server.query("SELECT event_id, COUNT(*) FROM events GROUP BY event_id HAVING COUNT(*) > 1")
    assert dups == []


def test_many_concurrent_streams_from_several_channels_are_all_acked(server, pb):
    Ack = pb.events_pb2.Ack
    n_channels, streams_per_channel, per_stream = 4, 3, 300
    channels = [server.channel() for _ in range(n_channels)]
    results: dict[int, list] = {}
    errors: list[str] = []
    sent: dict[int, list] = {}

    def run(k: int, stub):
        evs = [event(("received", "consumed", "produced")[j % 3]) for j in range(per_stream)]
        sent[k] = evs
        try:
            results[k] = list(stub.PublishStream(iter(evs), timeout=120))
        except grpc.RpcError as err:
            errors.append(f"stream {k}: {err.code()} {err.details()}")

    before = server.scalar("SELECT COUNT(*) FROM events")
    threads = []
    for c_i, ch in enumerate(channels):
        stub = pb.events_pb2_grpc.EventIngestStub(ch)
        for s_i in range(streams_per_channel):
            t = threading.Thread(target=run, args=(c_i * streams_per_channel + s_i, stub))
            t.start()
            threads.append(t)
    for t in threads:
        t.join(180)
    for ch in channels:
        ch.close()
    assert not errors, errors
    total = n_channels * streams_per_channel
    assert len(results) == total
    all_seqs = []
    for k, acks in results.items():
        assert [a.event_id for a in acks] == [e.event_id for e in sent[k]], f"stream {k}: acks out of order/missing"
        assert all(a.result == Ack.ACCEPTED for a in acks), f"stream {k}: not all ACCEPTED"
        seqs = [a.sequence for a in acks]
        assert seqs == sorted(seqs), f"stream {k}: sequences not increasing within the stream"
        all_seqs += seqs
    assert len(set(all_seqs)) == len(all_seqs), "two events got the same sequence"
    assert server.scalar("SELECT COUNT(*) FROM events") == before + total * per_stream


# --------------------------------------------------------------------------- not HTTP/2


def _send_and_wait_close(server, payload: bytes, timeout: float = 10.0) -> bytes:
    """Sends `payload` on a raw TCP connection; returns what the server answered before it closed.
    Fails if the server keeps the connection open past `timeout`."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    received = b""
    try:
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            return received
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return received
            except socket.timeout:
                break
            if not chunk:
                return received
            received += chunk
            if received.startswith(b"HTTP/1.") and b"\r\n\r\n" in received:
                return received
        pytest.fail(f"connection still open {timeout}s after a non-HTTP/2 request; got {received[:200]!r}")
    finally:
        s.close()


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


@pytest.mark.parametrize(
    "payload",
    [
        b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"POST /mes.v1.EventIngest/Publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc\r\n"
        b"Content-Length: 5\r\n\r\n\x00\x00\x00\x00\x00",
        bytes(random.Random(7).getrandbits(8) for _ in range(64 * 1024)),
        H2_PREFACE + b"\x00\x00\x04\x09\x00\x00\x00\x00\x00garbage-after-preface" * 100,
    ],
    ids=["http1-get", "http1-grpc-post", "random-64KiB", "preface-then-garbage-frames"],
)
def test_non_http2_bytes_close_the_connection_and_server_goes_on(server, pb, payload):
    reply = _send_and_wait_close(server, payload)
    if reply.startswith(b"HTTP/1."):
        status = int(reply.split(b" ", 2)[1])
        assert 400 <= status < 600, f"HTTP/1.1 reply {reply[:100]!r}"
    assert_still_serving(server, pb)


def test_idle_connection_without_preface_does_not_hold_the_server(server, pb):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        s.sendall(b"PRI * HT")  # half a preface, then silence
        assert_still_serving(server, pb)
    finally:
        s.close()
