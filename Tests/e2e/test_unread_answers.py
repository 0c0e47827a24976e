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


def store_history(srv, pb, product, name, count, supplier_bytes=200):
    """`count` receipts of one lot, each about supplier_bytes + 60 bytes: its LotHistory."""
    events = []
    for _ in range(count):
        e = event("received")
        e.received.lot.CopyFrom(lot(product, name))
        e.received.supplier = "S" * supplier_bytes
        events.append(e)
    with srv.channel() as ch:
        acks = list(pb.events_pb2_grpc.EventIngestStub(ch).PublishStream(iter(events), timeout=120))
    assert len(acks) == count


def history_of(srv, pb, product, name):
    with srv.channel() as ch:
        return list(pb.genealogy_pb2_grpc.GenealogyStub(ch).LotHistory(lot(product, name), timeout=RPC_TIMEOUT_S))


def test_a_history_larger_than_the_output_budget_streams_whole_to_a_reader(server_factory, pb):
    """Histories are read and sent a page at a time as the client reads: one larger than the whole
    output budget still arrives (it was built whole first, then refused RESOURCE_EXHAUSTED)."""
    srv = server_factory(extra_args=["--output-budget-bytes", str(512 << 10)])
    store_history(srv, pb, "RESIN-BIG", "R-BIG", 4_000)  # ≈ 1 MB of answer
    entries = history_of(srv, pb, "RESIN-BIG", "R-BIG")
    assert len(entries) == 4_000
    assert [e.sequence for e in entries] == sorted(e.sequence for e in entries)


def test_unread_histories_hold_a_page_each_and_readers_get_theirs(server, pb):
    """16 LotHistory calls of a 5 MB history on 8 connections that read nothing: the server reads
    and holds at most a page and its high water per call (before: each history whole, 80 MB), ingest
    goes on, and a client that reads gets the whole history meanwhile."""
    product, name = "RESIN-UNREAD", "R-UNREAD"
    store_history(server, pb, product, name, 20_000)
    request = grpc_message(lot(product, name).SerializeToString())
    before = rss_kib(server.pid)
    sockets = []
    for _ in range(8):
        s = connect(server.port)
        s.sendall(PREFACE + settings(s4=0))  # reads nothing
        for stream in (1, 3):
            s.sendall(frame(1, 0x4, stream, request_block("/mes.v1.Genealogy/LotHistory"))
                      + frame(DATA, 0x1, stream, request))
        sockets.append(s)
    time.sleep(3)
    grown_mib = (rss_kib(server.pid) - before) / 1024
    assert publish(server, pb, event("received")).result == pb.events_pb2.Ack.ACCEPTED  # ingest goes on
    assert len(history_of(server, pb, product, name)) == 20_000
    for s in sockets:
        s.close()
    assert grown_mib < 40, f"RSS grew {grown_mib:.0f} MiB for 16 unread histories"


def test_unread_exports_are_held_against_the_budget_and_leave_with_their_client(server_factory, pb):
    """An export is built whole (at most 2 at once) and sent as the client reads; while unread, its
    document counts against the output budget. 12 unread exports of a ~1 MB document on 6 connections
    with a 3 MiB budget: the server takes what fits and refuses the rest RESOURCE_EXHAUSTED (the budget
    held, not 12 documents), and once the non-readers go a reader gets the export. (Each unread export
    held its 10-14 MB before the budget, 256 of them 3.5 GB.)"""
    srv = server_factory(extra_args=["--output-budget-bytes", str(3 << 20)])
    product, name = "RESIN-EXPORT", "R-EXPORT"
    store_history(srv, pb, product, name, 4_000)
    genealogy = pb.genealogy_pb2
    request = genealogy.ExportRequest(lot=lot(product, name), format=genealogy.ExportRequest.FSMA204_CSV)

    def export():
        with srv.channel() as ch:
            stub = pb.genealogy_pb2_grpc.GenealogyStub(ch)
            return b"".join(c.data for c in stub.Export(request, timeout=RPC_TIMEOUT_S))

    size = len(export())
    assert size > 600_000
    sockets = []
    for _ in range(6):
        s = connect(srv.port)
        s.sendall(PREFACE + settings(s4=0))  # reads nothing
        for stream in (1, 3):
            s.sendall(frame(1, 0x4, stream, request_block("/mes.v1.Genealogy/Export"))
                      + frame(DATA, 0x1, stream, grpc_message(request.SerializeToString())))
            time.sleep(0.5)  # one at a time through the export gate
        sockets.append(s)
    time.sleep(1)
    assert status_code(export) == grpc.StatusCode.RESOURCE_EXHAUSTED  # the budget is held by the unread ones
    assert publish(srv, pb, event("received")).result == pb.events_pb2.Ack.ACCEPTED  # ingest goes on
    for s in sockets:
        s.close()
    time.sleep(1)
    assert len(export()) == size
