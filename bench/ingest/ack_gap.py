#!/usr/bin/env python3
"""Head-of-line blocking: how long another client's acks wait while the largest event the limits
allow is stored. One client publishes small events one after another (unary Publish, each waiting
for its Ack) for the whole run; another publishes `--big` Packed events of 1,000 items (the
`packed.contents` limit), each item a serial with a 256-byte product and a 256-byte serial (the
identifier limit): about 520 kB each. Prints the small client's ack latency (median, p99, max)
before the big events and while they are stored, and how long each big event took.

  python3 bench/ingest/ack_gap.py [--binary PATH] [--big 3] [--seconds 6]

Loopback only, bounded by --seconds; the server it starts (fresh data folder) is stopped at the end."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests" / "e2e"))
from conftest import Server, mesgate_binary, stubs  # noqa: E402
from mesevents import event, lot  # noqa: E402


def big_event(pb):
    e = event("packed")
    del e.packed.contents[:]
    product = "P" * 256
    for _ in range(1000):
        serial = uuid.uuid4().hex * 8  # 256 bytes
        e.packed.contents.add().CopyFrom(lot(product=product, serial=serial))
    return e


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=None)
    ap.add_argument("--big", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=6.0)
    args = ap.parse_args()
    pb = stubs()
    binary = Path(args.binary) if args.binary else mesgate_binary()
    base = Path(tempfile.mkdtemp(prefix="mesgate-ack-gap-"))
    server = Server(binary, base / "data", base / "logs").start()
    try:
        bigs = [big_event(pb) for _ in range(args.big)]
        print(f"big event: {len(bigs[0].SerializeToString()):,} bytes, {len(bigs[0].packed.contents)} items")
        samples: list[tuple[float, float]] = []  # (sent at, ack latency s)
        stop = threading.Event()

        def small_client():
            with server.channel() as ch:
                stub = pb.events_pb2_grpc.EventIngestStub(ch)
                while not stop.is_set():
                    e = event("received")
                    t0 = time.monotonic()
                    stub.Publish(e, timeout=30)
                    samples.append((t0, time.monotonic() - t0))

        small = threading.Thread(target=small_client)
        small.start()
        time.sleep(1.0)
        big_windows = []
        with server.channel() as ch:
            stub = pb.events_pb2_grpc.EventIngestStub(ch)
            for e in bigs:
                t0 = time.monotonic()
                ack = stub.Publish(e, timeout=60)
                big_windows.append((t0, time.monotonic()))
                assert ack.result == pb.events_pb2.Ack.ACCEPTED, ack
        deadline = time.monotonic() + max(0.0, args.seconds - 1.0 - (big_windows[-1][1] - big_windows[0][0]))
        while time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        small.join(timeout=30)

        def during(t):
            return any(a <= t <= b for a, b in big_windows)

        before = [lat for t, lat in samples if t < big_windows[0][0]]
        inside = [lat for t, lat in samples if during(t) or any(t < a < t + lat for a, _ in big_windows)]

        def summary(xs):
            if not xs:
                return "none"
            xs = sorted(xs)
            p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))]
            return f"n={len(xs)} median={statistics.median(xs) * 1000:.1f} ms p99={p99 * 1000:.1f} ms max={xs[-1] * 1000:.1f} ms"

        print("small client acks before the big events:", summary(before))
        print("small client acks while big events are stored:", summary(inside))
        print("big event Publish times:", ", ".join(f"{(b - a) * 1000:.0f} ms" for a, b in big_windows))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
