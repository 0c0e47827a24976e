"""Clients that never read their answers (issue 17.1): what the server holds for them stays
bounded, it stops reading them, and a normal client is served meanwhile."""

from __future__ import annotations

import time

import grpc

from conftest import RPC_TIMEOUT_S, status_code
from mesevents import event, lot
from rawh2 import (DATA, PREFACE, WINDOW_UPDATE, FrameReader, SendWindows, connect, frame, grpc_message,
                   request_block, settings)


def rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def publish(srv, pb, ev):
    with srv.channel() as ch:
        return pb.events_pb2_grpc.EventIngestStub(ch).Publish(ev, timeout=RPC_TIMEOUT_S)


def test_a_publish_stream_that_never_reads_its_acks_stops_being_read(server, pb):
    """The client announces a receive window of 0 and sends REJECTED events as fast as the server
    lets it. Before the bound the server read everything and queued every ack (3 GB in 45 s)."""
    bad = pb.events_pb2.Event(event_id="unread-x" * 15, occurred_at_ms=1)  # no body: REJECTED, long reason
    message = grpc_message(bad.SerializeToString())
    s = connect(server.port)
    s.sendall(PREFACE + settings(s4=0) + frame(WINDOW_UPDATE, 0, 0, (1 << 30).to_bytes(4, "big")))
    s.sendall(frame(1, 0x4, 1, request_block("/mes.v1.EventIngest/PublishStream")))
    reader, windows = FrameReader(), SendWindows()
    sent = 0
    before = rss_kib(server.pid)
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and sent <= 64 << 20:
        windows.read(s, reader, wait=0.01)
        burst = b""
        while len(burst) < 1 << 16 and windows.take(len(message)):
            burst += frame(DATA, 0, 1, message)
            sent += len(message)
        if burst:
            s.sendall(burst)
    # Meanwhile a normal client is served.
    ack = publish(server, pb, event("received"))
    assert ack.result == pb.events_pb2.Ack.ACCEPTED
    grown_mib = (rss_kib(server.pid) - before) / 1024
    s.close()
    assert sent < 4 << 20, f"the server kept reading a client that reads nothing: {sent} bytes taken"
    assert grown_mib < 64, f"RSS grew {grown_mib:.0f} MiB"


def test_unread_histories_spend_the_budget_then_big_answers_are_refused(server_factory, pb):
    srv = server_factory(extra_args=["--output-budget-bytes", str(2 << 20)])
    product, name = "RESIN-UNREAD", "R-UNREAD"
    events = []
    for _ in range(2_000):
        e = event("received")
        e.received.lot.CopyFrom(lot(product, name))
        e.received.supplier = "S" * 200
        events.append(e)
    with srv.channel() as ch:
        acks = list(pb.events_pb2_grpc.EventIngestStub(ch).PublishStream(iter(events), timeout=120))
    assert len(acks) == 2_000
    request = grpc_message(lot(product, name).SerializeToString())
    s = connect(srv.port)
    s.sendall(PREFACE + settings(s4=0))  # reads nothing
    for i in range(16):
        stream = 1 + 2 * i
        s.sendall(frame(1, 0x4, stream, request_block("/mes.v1.Genealogy/LotHistory"))
                  + frame(DATA, 0x1, stream, request))
    time.sleep(2)

    def history():
        with srv.channel() as ch:
            return list(pb.genealogy_pb2_grpc.GenealogyStub(ch).LotHistory(lot(product, name), timeout=RPC_TIMEOUT_S))

    assert status_code(history) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert publish(srv, pb, event("received")).result == pb.events_pb2.Ack.ACCEPTED  # ingest goes on
    s.close()
    time.sleep(1)
    assert len(history()) == 2_000  # the unread answers left with their client
