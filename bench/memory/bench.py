"""Clients that never read their answers (issue 17): 50 of them for --seconds against one server,
while a normal client publishes and traces; the server's RSS sampled every second.

The 50 non-readers (raw HTTP/2, a receive window of 0, so the server can send them nothing):
  - 20 PublishStream clients sending as fast as the server lets them, half valid events, half
    REJECTED ones with long event ids;
  - 15 clients opening LotHistory calls on a lot with a long history, one more every 100 ms;
  - 15 clients opening Export (EPCIS) calls on that lot, one more every 100 ms.
Each reconnects when the server closes it. The normal client (grpcio) alternates a Publish and a
Trace and records latency and errors. Printed: peak and last RSS against the output budget, what
the non-readers got in, and the normal client's p50/p99 and errors.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Tests" / "e2e"))

import grpc  # noqa: E402

from conftest import free_ports, stubs  # noqa: E402
from mesevents import event, lot  # noqa: E402
from rawh2 import (DATA, PREFACE, WINDOW_UPDATE, FrameReader, SendWindows, connect, frame,  # noqa: E402
                   grpc_message, request_block, settings)

PRODUCT, LOT = "RESIN-SOAK", "R-SOAK"


def rss_kib(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def publisher(port: int, stop: threading.Event, counts: dict, index: int) -> None:
    pb = stubs()
    while not stop.is_set():
        try:
            s = connect(port)
            s.sendall(PREFACE + settings(s4=0) + frame(WINDOW_UPDATE, 0, 0, (1 << 30).to_bytes(4, "big")))
            s.sendall(frame(1, 0x4, 1, request_block("/mes.v1.EventIngest/PublishStream")))
            reader, windows = FrameReader(), SendWindows()
            n = 0
            while not stop.is_set() and windows.read(s, reader):
                burst = b""
                while len(burst) < 1 << 16:
                    n += 1
                    if n % 2:
                        e = event("received")
                        e.event_id = f"soak-{index}-{n}-{e.event_id}"[:120]
                    else:
                        e = pb.events_pb2.Event(event_id=f"bad-{index}-{n}-" + "x" * 100, occurred_at_ms=1)
                    m = grpc_message(e.SerializeToString())
                    if not windows.take(len(m)):
                        break
                    burst += frame(DATA, 0, 1, m)
                    counts["publish_bytes_taken"] = counts.get("publish_bytes_taken", 0) + len(m)
                if burst:
                    s.sendall(burst)
            s.close()
        except OSError:
            counts["reconnects"] = counts.get("reconnects", 0) + 1
            stop.wait(0.2)


def opener(port: int, stop: threading.Event, counts: dict, path: str, request: bytes, key: str) -> None:
    while not stop.is_set():
        try:
            s = connect(port)
            s.sendall(PREFACE + settings(s4=0))
            sid = 1
            while not stop.is_set() and sid < 2000:
                s.sendall(frame(1, 0x4, sid, request_block(path)) + frame(DATA, 0x1, sid, request))
                counts[key] = counts.get(key, 0) + 1
                sid += 2
                ready, _, _ = select.select([s], [], [], 0.1)
                if ready and not s.recv(1 << 16):
                    break
            s.close()
        except OSError:
            counts["reconnects"] = counts.get("reconnects", 0) + 1
            stop.wait(0.2)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mesgate", required=True)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--budget-bytes", type=int, default=128 << 20, help="--output-budget-bytes of the server")
    parser.add_argument("--memory-limit-mib", type=float, default=1024.0, help="the deploy manifest's limit")
    parser.add_argument("--history-events", type=int, default=20_000)
    parser.add_argument("--publishers", type=int, default=20)
    parser.add_argument("--histories", type=int, default=15)
    parser.add_argument("--exports", type=int, default=15)
    parser.add_argument("--json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mesgate-memory-"))
    port, admin = free_ports(2)
    server = subprocess.Popen(
        [args.mesgate, "serve", "--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin}",
         "--data", str(work / "data"), "--log-level", "error", "--output-budget-bytes", str(args.budget_bytes),
         "--max-connections-per-address", "200"],
        stdout=subprocess.DEVNULL, stderr=open(work / "stderr", "w"),
        env={**os.environ, "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2")})  # as deploy/ runs it
    pb = stubs()
    samples: list[int] = []
    latencies: list[float] = []
    errors: dict = {}
    counts: dict = {}
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=60)
        ingest = pb.events_pb2_grpc.EventIngestStub(channel)
        genealogy = pb.genealogy_pb2_grpc.GenealogyStub(channel)
        history = []
        for _ in range(args.history_events):
            e = event("received")
            e.received.lot.CopyFrom(lot(PRODUCT, LOT))
            e.received.supplier = "S" * 200
            history.append(e)
        list(ingest.PublishStream(iter(history), timeout=600))
        print(f"== history of {args.history_events} events stored; RSS {rss_kib(server.pid) / 1024:.0f} MiB",
              flush=True)

        stop = threading.Event()
        request = grpc_message(lot(PRODUCT, LOT).SerializeToString())
        export = grpc_message(pb.genealogy_pb2.ExportRequest(
            lot=lot(PRODUCT, LOT), format=pb.genealogy_pb2.ExportRequest.Format.Value("EPCIS_JSONLD")
        ).SerializeToString())
        threads = [threading.Thread(target=publisher, args=(port, stop, counts, i), daemon=True) for i in range(args.publishers)]
        threads += [threading.Thread(target=opener, args=(port, stop, counts, "/mes.v1.Genealogy/LotHistory",
                                                          request, "histories_opened"), daemon=True)
                    for _ in range(args.histories)]
        threads += [threading.Thread(target=opener, args=(port, stop, counts, "/mes.v1.Genealogy/Export",
                                                          export, "exports_opened"), daemon=True)
                    for _ in range(args.exports)]
        for t in threads:
            t.start()
        end = time.monotonic() + args.seconds
        next_sample = time.monotonic()
        # The normal client traces a lot of its own (the big one's answer is over grpcio's 4 MB limit).
        own = event("received")
        own.received.lot.CopyFrom(lot("RESIN-NORMAL", "R-NORMAL"))
        ingest.Publish(own, timeout=30)
        trace = pb.genealogy_pb2.TraceRequest(lot=lot("RESIN-NORMAL", "R-NORMAL"), direction=1)
        n = 0
        while time.monotonic() < end and server.poll() is None:
            n += 1
            started = time.monotonic()
            try:
                if n % 2:
                    ingest.Publish(event("received"), timeout=10)
                else:
                    genealogy.Trace(trace, timeout=10)
                latencies.append((time.monotonic() - started) * 1000)
            except grpc.RpcError as e:
                key = f"{'Publish' if n % 2 else 'Trace'} {e.code().name}: {(e.details() or '')[:90]}"
                errors[key] = errors.get(key, 0) + 1
            if time.monotonic() >= next_sample:
                samples.append(rss_kib(server.pid))
                next_sample += 1.0
                if len(samples) % 30 == 0:
                    print(f"   {len(samples):4d} s  RSS {samples[-1] / 1024:7.1f} MiB  normal calls {len(latencies)}"
                          f"  errors {sum(errors.values())}", flush=True)
            time.sleep(0.01)
        stop.set()
        channel.close()
    finally:
        alive = server.poll() is None
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    peak = max(samples) / 1024 if samples else float("nan")
    result = {
        "seconds": args.seconds, "budget_mib": args.budget_bytes / 2**20, "peak_rss_mib": peak,
        "last_rss_mib": samples[-1] / 1024 if samples else None, "first_rss_mib": samples[0] / 1024 if samples else None,
        "normal_calls": len(latencies), "normal_p50_ms": pct(latencies, 0.5), "normal_p99_ms": pct(latencies, 0.99),
        "normal_errors": errors, "non_readers": counts, "server_alive": alive,
    }
    print(json.dumps(result, indent=2))
    print(f"peak RSS {peak:.1f} MiB (output budget {args.budget_bytes / 2**20:.0f} MiB, limit "
          f"{args.memory_limit_mib:.0f} MiB); normal client {len(latencies)} calls, p50 "
          f"{result['normal_p50_ms']:.1f} ms, p99 {result['normal_p99_ms']:.1f} ms, errors {sum(errors.values())}; "
          f"server alive: {alive}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if alive and peak < args.memory_limit_mib and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
