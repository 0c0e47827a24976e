"""What test_multiplant_wan.py runs inside a plant's network namespace (`ip netns exec NS python3
wanplant.py ...`), where the plant gateway listens on the namespace's own loopback:

- `wait ADDRESS --timeout S`: waits (bounded) for grpc.health.v1 SERVING; exit 0 when it is.
- `load ADDRESS --plant P --tag T --rate R --progress FILE`: publishes the plant's day, cycle after
  cycle (one every 6/R s, so every plant is at about the same cycle), one unary Publish per event,
  at most R events/s, until SIGTERM. Every second it appends
  a JSON line to FILE: wall time, events acknowledged (ACCEPTED or DUPLICATE), the longest wait
  for an ack in that second, failed calls by status and REJECTED acks. A failed call is retried
  with the same event (same id) until it is answered.
- `ship-until-refused ADDRESS --lot PRODUCT/LOT --timeout S`: publishes a Shipped of the lot every
  0.5 s, each with a fresh id, until one is refused with FAILED_PRECONDITION or S pass; prints
  one JSON object: every attempt's status and when.
- `ship ADDRESS --lot PRODUCT/LOT`: one Shipped; prints its status as JSON.

The flows (plants A, B, C; lot names carry the run's tag and the cycle k):
- A receives steel, consumes it into order A/MO/k (order level), reports bracket lot k out of that
  order, checks it, splits a part off every third cycle, ships bracket k to plant B.
- B receives bracket k from A under the same LotRef and a motor lot, consumes the bracket into
  assembly k directly (consumed.into, order B/MO/k//2) and the motor into order B/MO/k//2 (two
  cycles share an order), reports assembly k, ships it to plant C.
- C receives assembly k from B, consumes it into order C/MO/k, reports pump serial k, packs it on
  pallet k//4 (every eighth pump is moved to the next pallet: Packed DELETE, then ADD), ships a
  pallet once it is full.
Stubs are the session's generated ones (--stubs DIR).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["wait", "load", "ship-until-refused", "ship"])
    p.add_argument("address")
    p.add_argument("--stubs", required=True)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--plant", default="")
    p.add_argument("--tag", default="")
    p.add_argument("--rate", type=float, default=60.0)
    p.add_argument("--progress", default="")
    p.add_argument("--lot", default="")
    return p.parse_args()


ARGS = parse()
sys.path.insert(0, ARGS.stubs)

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from mes.v1 import common_pb2, events_pb2, events_pb2_grpc  # noqa: E402

m = events_pb2


def lot(product="", lot_="", serial="", container=""):
    return common_pb2.LotRef(product=product, lot=lot_, serial=serial, container=container)


def qty(value, uom="kg"):
    return common_pb2.Quantity(value=value, uom=uom)


def event(event_id: str, work_order: str = "", **body):
    (kind, message), = body.items()
    e = m.Event(event_id=event_id, occurred_at_ms=int(time.time() * 1000), tz_offset="+01:00",
                work_center="WC-1", operator_id="op-1", work_order=work_order)
    getattr(e, kind).CopyFrom(message)
    return e


# The most events a plant's cycle has on average (B: 6; A: about 5.5; C: 4.5).
EVENTS_PER_CYCLE = 6


def bracket(tag, k):
    return lot("BRACKET", f"A-B-{tag}-{k}")


def assembly(tag, k):
    return lot("ASSY", f"B-X-{tag}-{k}")


def cycle(plant: str, tag: str, k: int) -> list:
    """The events of plant `plant` in cycle `k`."""
    eid = lambda n: f"{plant}-{tag}-{k}-{n}"  # noqa: E731
    now = int(time.time() * 1000)
    if plant == "A":
        steel, br = lot("STEEL", f"A-S-{tag}-{k}"), bracket(tag, k)
        order = f"A/MO/{tag}/{k}"
        out = [
            event(eid("r"), received=m.MaterialReceived(lot=steel, qty=qty(100.0), supplier="Acme Steel",
                                                        supplier_lot=f"AS-{k}", purchase_order=f"PO-A-{k}")),
            event(eid("c"), order, consumed=m.MaterialConsumed(component=steel, qty=qty(40.0))),
            event(eid("p"), order, produced=m.ProductionReported(output=br, good=qty(50, "Units"))),
            event(eid("q"), quality=m.QualityResult(lot=br, check="hardness", outcome=m.QualityResult.PASS)),
        ]
        if k % 3 == 0:
            split = lot("BRACKET", f"A-B-{tag}-{k}-S")
            out.append(event(eid("m"), moved=m.Moved(lot=br, qty=qty(5, "Units"), from_location="A/Stock",
                                                     to_location="A/Lab", new_lot=split)))
        if k % 5 == 0:
            out.append(event(eid("d"), downtime=m.DowntimeReported(
                reason="jam", loss=m.DowntimeReported.AVAILABILITY, started_at_ms=now - 60_000, ended_at_ms=now)))
        out.append(event(eid("s"), shipped=m.Shipped(lot=br, qty=qty(45, "Units"), customer="PLANT-B",
                                                     delivery=f"A/OUT/{tag}/{k}")))
        return out
    if plant == "B":
        br, motor, assy = bracket(tag, k), lot("MOTOR", f"B-M-{tag}-{k}"), assembly(tag, k)
        order = f"B/MO/{tag}/{k // 2}"
        return [
            event(eid("r1"), received=m.MaterialReceived(lot=br, qty=qty(45, "Units"), supplier="PLANT-A")),
            event(eid("r2"), received=m.MaterialReceived(lot=motor, qty=qty(10, "Units"), supplier="Motors Inc")),
            event(eid("c1"), order, consumed=m.MaterialConsumed(component=br, qty=qty(45, "Units"), into=assy)),
            event(eid("c2"), order, consumed=m.MaterialConsumed(component=motor, qty=qty(10, "Units"))),
            event(eid("p"), order, produced=m.ProductionReported(output=assy, good=qty(10, "Units"))),
            event(eid("s"), shipped=m.Shipped(lot=assy, qty=qty(10, "Units"), customer="PLANT-C",
                                              delivery=f"B/OUT/{tag}/{k}")),
        ]
    if plant == "C":
        assy, pump = assembly(tag, k), lot("PUMP", serial=f"C-P-{tag}-{k}")
        order = f"C/MO/{tag}/{k}"
        pallet = lot(container=f"PAL-{tag}-{k // 4}")
        out = [
            event(eid("r"), received=m.MaterialReceived(lot=assy, qty=qty(10, "Units"), supplier="PLANT-B")),
            event(eid("c"), order, consumed=m.MaterialConsumed(component=assy, qty=qty(10, "Units"))),
            event(eid("p"), order, produced=m.ProductionReported(output=pump, good=qty(1, "Units"))),
            event(eid("k"), packed=m.Packed(container=pallet, contents=[pump], action=m.Packed.ADD)),
        ]
        if k % 8 == 5:
            nxt = lot(container=f"PAL-{tag}-{k // 4 + 1}")
            out += [
                event(eid("u"), packed=m.Packed(container=pallet, contents=[pump], action=m.Packed.DELETE)),
                event(eid("k2"), packed=m.Packed(container=nxt, contents=[pump], action=m.Packed.ADD)),
            ]
        if k % 4 == 3:
            out.append(event(eid("s"), shipped=m.Shipped(lot=pallet, qty=qty(1, "Units"), customer="Pumps Retail",
                                                         delivery=f"C/OUT/{tag}/{k // 4}")))
        return out
    raise SystemExit(f"unknown plant {plant}")


def wait(address: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with grpc.insecure_channel(address) as ch:
                r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
                if r.status == health_pb2.HealthCheckResponse.SERVING:
                    return 0
                last = f"status {r.status}"
        except grpc.RpcError as e:
            last = f"{e.code()}: {e.details()}"
        time.sleep(0.1)
    print(f"not SERVING at {address} within {timeout} s ({last})", file=sys.stderr)
    return 1


def load(address: str, plant: str, tag: str, rate: float, progress_path: str) -> int:
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    progress = open(progress_path, "a")
    # One cycle every 6/rate s at every plant, so that lot k is shipped by A, received and built in at
    # B and received at C at about the same time (cycles are 4.5 to 6 events: at most `rate` events/s).
    cycle_interval = EVENTS_PER_CYCLE / rate
    acked = rejected = 0
    failures: dict[str, int] = {}
    rejections: list[str] = []
    second_started, second_max = time.monotonic(), 0.0
    next_cycle = time.monotonic()

    def report(final=False):
        progress.write(json.dumps({"t": time.time(), "acked": acked, "max_ack_s": round(second_max, 4),
                                   "failures": failures, "rejected": rejected, "rejections": rejections[:5],
                                   "final": final}) + "\n")
        progress.flush()

    with grpc.insecure_channel(address) as ch:
        stub = events_pb2_grpc.EventIngestStub(ch)
        k = 0
        while not stopping:
            now = time.monotonic()
            if now < next_cycle:
                time.sleep(next_cycle - now)  # pacing: the next cycle's slot
            next_cycle = max(next_cycle + cycle_interval, time.monotonic() - 1.0)
            for e in cycle(plant, tag, k):
                while not stopping:  # the same event until it is answered (or the run ends)
                    began = time.monotonic()
                    try:
                        ack = stub.Publish(e, timeout=10)
                        second_max = max(second_max, time.monotonic() - began)
                        if ack.result == m.Ack.REJECTED:
                            rejected += 1
                            rejections.append(f"{e.event_id}: {ack.reason}")
                        else:
                            acked += 1
                        break
                    except grpc.RpcError as err:
                        second_max = max(second_max, time.monotonic() - began)
                        failures[err.code().name] = failures.get(err.code().name, 0) + 1
                        time.sleep(0.05)
                    finally:
                        if time.monotonic() - second_started >= 1.0:
                            report()
                            second_started, second_max = time.monotonic(), 0.0
            k += 1
            if time.monotonic() - second_started >= 1.0:
                report()
                second_started, second_max = time.monotonic(), 0.0
    report(final=True)
    return 0


def ship(stub, product_lot: str, n: int) -> str:
    product, lot_ = product_lot.split("/", 1)
    e = event(f"ship-{lot_}-{n}-{time.time_ns()}", shipped=m.Shipped(
        lot=lot(product, lot_), qty=qty(1, "Units"), customer="Somebody", delivery=f"OUT/{n}"))
    try:
        ack = stub.Publish(e, timeout=10)
        return m.Ack.Result.Name(ack.result)
    except grpc.RpcError as err:
        return err.code().name


def ship_until_refused(address: str, product_lot: str, timeout: float) -> int:
    attempts = []
    began = time.monotonic()
    with grpc.insecure_channel(address) as ch:
        stub = events_pb2_grpc.EventIngestStub(ch)
        n = 0
        while time.monotonic() - began < timeout:
            status = ship(stub, product_lot, n)
            attempts.append({"at": time.time(), "status": status})
            if status == "FAILED_PRECONDITION":
                break
            n += 1
            time.sleep(0.5)  # the next attempt: the hold has not reached the plant yet
    print(json.dumps({"attempts": attempts}))
    return 0


def main() -> int:
    if ARGS.command == "wait":
        return wait(ARGS.address, ARGS.timeout)
    if ARGS.command == "load":
        return load(ARGS.address, ARGS.plant, ARGS.tag, ARGS.rate, ARGS.progress)
    if ARGS.command == "ship-until-refused":
        return ship_until_refused(ARGS.address, ARGS.lot, ARGS.timeout)
    with grpc.insecure_channel(ARGS.address) as ch:
        print(json.dumps({"status": ship(events_pb2_grpc.EventIngestStub(ch), ARGS.lot, 0)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
