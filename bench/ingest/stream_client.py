#!/usr/bin/env python3
"""A first streaming load client: grpcio PublishStream, N streams over C channels, each keeping
up to W events in flight, reading every Ack. Prints one JSON line with counts and events/s.

Usage: stream_client.py --stubs DIR --target HOST:PORT [--events N] [--streams S] [--channels C]
                        [--window W] [--processes P] [--timeout SECONDS]
Events are distinct (fresh event_ids) valid `consumed` events of ~200 bytes. Bounded by --events
and by --timeout (the streams are cancelled then)."""

import argparse
import json
import multiprocessing as mp
import sys
import threading
import time
import uuid


def worker(args, index, streams, events_per_stream, out):
    sys.path.insert(0, args.stubs)
    import grpc
    from mes.v1 import common_pb2, events_pb2, events_pb2_grpc

    channels = [grpc.insecure_channel(args.target) for _ in range(max(1, args.channels // args.processes))]
    for c in channels:
        grpc.channel_ready_future(c).result(timeout=10)
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0, "errors": 0}
    lock = threading.Lock()
    run = uuid.uuid4().hex[:8]
    deadline = time.monotonic() + args.timeout

    def make(s, i):
        t = int(time.time() * 1000)
        return events_pb2.Event(
            event_id=f"bench-{run}-{index}-{s}-{i}", occurred_at_ms=t, tz_offset="+02:00", plant="PLANT-1",
            work_center="WC-CUT", operator_id="op-17", work_order="WH/MO/00042",
            consumed=events_pb2.MaterialConsumed(
                component=common_pb2.LotRef(product="STEEL-S235", lot=f"S-{i % 5000}"),
                qty=common_pb2.Quantity(value=12.5, uom="kg"),
                into=common_pb2.LotRef(product="BRACKET-7", lot=f"B-{run}-{s}")))

    def one_stream(s):
        window = threading.Semaphore(args.window)
        stub = events_pb2_grpc.EventIngestStub(channels[s % len(channels)])

        def gen():
            for i in range(events_per_stream):
                if not window.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    return
                yield make(s, i)

        local = {"accepted": 0, "duplicate": 0, "rejected": 0, "errors": 0}
        call = stub.PublishStream(gen(), timeout=max(1.0, deadline - time.monotonic()))
        try:
            for ack in call:
                window.release()
                if ack.result == events_pb2.Ack.ACCEPTED:
                    local["accepted"] += 1
                elif ack.result == events_pb2.Ack.DUPLICATE:
                    local["duplicate"] += 1
                else:
                    local["rejected"] += 1
        except grpc.RpcError:
            local["errors"] += 1
        with lock:
            for k, v in local.items():
                counts[k] += v

    threads = [threading.Thread(target=one_stream, args=(s,)) for s in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in channels:
        c.close()
    out.put(counts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stubs", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    per_process = max(1, args.streams // args.processes)
    per_stream = args.events // (per_process * args.processes)
    out = mp.Queue()
    procs = [mp.Process(target=worker, args=(args, p, per_process, per_stream, out)) for p in range(args.processes)]
    started = time.monotonic()
    for p in procs:
        p.start()
    results = [out.get(timeout=args.timeout + 30) for _ in procs]
    for p in procs:
        p.join(30)
    elapsed = time.monotonic() - started
    total = {k: sum(r[k] for r in results) for k in results[0]}
    total.update(sent=per_stream * per_process * args.processes, seconds=round(elapsed, 3),
                 events_per_s=round(total["accepted"] / elapsed, 1), streams=per_process * args.processes,
                 window=args.window, processes=args.processes)
    print(json.dumps(total))


if __name__ == "__main__":
    main()
