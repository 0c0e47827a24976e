"""bench/odoo: Odoo calls per MES event at a steady event rate, and the drain rate after an outage.

Starts the Odoo emulator (Tests/odoo_emulator, a real HTTP server in its own process) and
`mesgate serve` pointed at it, publishes a paced stream of a plant's events over gRPC (grpcio
PublishStream), waits until the outbox is drained, and reads the emulator's request count
(every HTTP request mesgate made: version probe, login, searches, writes, creates, done).
Then: the emulator goes down, a backlog is published, it comes back, and the drain is timed.

Event mix per order (work_order = an emulated mrp.production): consumption and production
reports 90%, operation reports 9%, scrap 0.5%, quality results 0.4%, downtime 0.1%."""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Tests" / "e2e"))

import conftest  # noqa: E402
from conftest import Server, stubs  # noqa: E402
from odoo_harness import Emulator, gateway_args, outbox_states  # noqa: E402


def seed(emu: Emulator, orders: int, tag: str) -> list[str]:
    names = [f"WH/MO/BENCH{tag}-{i}" for i in range(orders)]
    emu.seed(products=[{"default_code": "STEEL", "tracking": "lot"}, {"default_code": "BOLT", "tracking": "none"},
                       {"default_code": "BRACKET", "tracking": "lot"}],
             workcenters=["WC-1", "WC-2"],
             productions=[{"name": n, "product": "BRACKET", "qty": 1e9, "tracking": "lot",
                           "components": [{"product": "STEEL", "tracking": "lot"}, {"product": "BOLT"}]}
                          for n in names])
    return names


def events(names: list[str], count: int, tag: str, rng: random.Random):
    m, c = stubs().events_pb2, stubs().common_pb2
    now = int(time.time() * 1000)
    for i in range(count):
        order = names[i % len(names)]
        oi = i % len(names)
        e = m.Event(event_id=f"b-{tag}-{i}", occurred_at_ms=now, tz_offset="+01:00", plant="P1",
                    work_center=f"WC-{1 + oi % 2}", work_order=order)
        r = rng.random()
        if r < 0.45:
            e.consumed.CopyFrom(m.MaterialConsumed(component=c.LotRef(product="STEEL", lot=f"S-{tag}-{oi}-{i % 7}"),
                                                   qty=c.Quantity(value=0.5, uom="kg")))
        elif r < 0.90:
            e.produced.CopyFrom(m.ProductionReported(output=c.LotRef(product="BRACKET", lot=f"BR-{tag}-{oi}"),
                                                     good=c.Quantity(value=1, uom="Units")))
        elif r < 0.99:
            e.operation.CopyFrom(m.OperationReported(operation="cut", state=m.OperationReported.RESUMED))
        elif r < 0.995:
            e.scrapped.CopyFrom(m.Scrapped(lot=c.LotRef(product="STEEL", lot=f"S-{tag}-{oi}-0"),
                                           qty=c.Quantity(value=0.1, uom="kg"), reason="offcut"))
        elif r < 0.999:
            e.quality.CopyFrom(m.QualityResult(lot=c.LotRef(product="BRACKET", lot=f"BR-{tag}-{oi}"), check="dim",
                                               outcome=m.QualityResult.PASS))
        else:
            e.downtime.CopyFrom(m.DowntimeReported(reason="jam", loss=m.DowntimeReported.AVAILABILITY,
                                                   started_at_ms=now - 1000 * i, ended_at_ms=now - 1000 * i + 500))
        yield e


def publish(server: Server, stream, rate: float | None) -> tuple[int, float]:
    stub = stubs().events_pb2_grpc.EventIngestStub(server.channel())
    start = time.monotonic()

    def paced():
        for n, e in enumerate(stream):
            if rate:
                due = start + n / rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield e

    acks = 0
    for ack in stub.PublishStream(paced(), timeout=3600):
        assert ack.result == stubs().events_pb2.Ack.ACCEPTED, ack
        acks += 1
    return acks, time.monotonic() - start


def wait_drained(server: Server, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        s = outbox_states(server)
        if not s.get("pending") and not s.get("failed"):
            return time.monotonic() - start
        time.sleep(0.05)
    raise RuntimeError(f"not drained after {timeout}s: {outbox_states(server)}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--mesgate", required=True)
    p.add_argument("--version", type=int, default=17, choices=(17, 18, 19))
    p.add_argument("--rate", type=float, default=1000.0, help="events per second of the steady phase")
    p.add_argument("--seconds", type=float, default=20.0, help="length of the steady phase")
    p.add_argument("--orders", type=int, default=10)
    p.add_argument("--backlog", type=int, default=20000, help="events published during the outage")
    p.add_argument("--json")
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mesgate-bench-odoo-"))
    emu = Emulator(a.version, tmp / "logs")
    srv = Server(Path(a.mesgate), tmp / "data", tmp / "logs",
                 extra_args=gateway_args(emu, odoo_coalesce_ms=2000, odoo_retry_base_ms=200,
                                         odoo_retry_max_ms=2000) + ["--sync", "normal"])
    rng = random.Random(5)
    out = {"odoo_version": a.version, "rate": a.rate, "seconds": a.seconds, "orders": a.orders}
    try:
        srv.start()
        tag = uuid.uuid4().hex[:4]
        names = seed(emu, a.orders, tag)
        before = emu.stats()["requests"]
        n = int(a.rate * a.seconds)
        acked, took = publish(srv, events(names, n, tag, rng), a.rate)
        drain = wait_drained(srv, 120)
        requests = emu.stats()["requests"] - before
        out.update(events=acked, publish_s=round(took, 2), achieved_rate=round(acked / took, 1),
                   odoo_requests=requests, calls_per_event=round(requests / acked, 4),
                   drained_after_publish_s=round(drain, 2), outbox=outbox_states(srv),
                   by_method=emu.stats()["by_method"])
        print(f"steady: {acked} events at {acked / took:.0f}/s over {took:.1f}s -> {requests} Odoo requests, "
              f"{requests / acked:.4f} calls per event (goal <= 0.05); drained {drain:.2f}s after the last ack")

        # Outage: Odoo down while a backlog builds, then back.
        emu.fault("down", times=-1)
        tag2 = uuid.uuid4().hex[:4]
        names2 = seed(emu, a.orders, tag2)
        acked2, took2 = publish(srv, events(names2, a.backlog, tag2, rng), None)
        time.sleep(2)
        waiting = outbox_states(srv)
        before2 = emu.stats()["requests"]
        emu.clear_faults()
        drain2 = wait_drained(srv, 600)
        requests2 = emu.stats()["requests"] - before2
        rows = sum(waiting.get(k, 0) for k in ("pending", "failed"))
        out.update(backlog_events=acked2, backlog_publish_rate=round(acked2 / took2, 1), backlog_rows=rows,
                   drain_s=round(drain2, 2), drain_rows_per_s=round(rows / drain2, 1),
                   drain_odoo_requests=requests2)
        print(f"outage: {acked2} events published at {acked2 / took2:.0f}/s while Odoo was down; {rows} outbox rows "
              f"waiting; drained in {drain2:.2f}s after Odoo came back ({rows / drain2:.0f} rows/s, "
              f"{requests2} Odoo requests)")
    finally:
        srv.stop()
        emu.stop()
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
