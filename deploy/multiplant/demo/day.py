"""One day across three plants, published to their gateways as a MES would (EventIngest.Publish):
deploy/multiplant/up runs it.

    python3 day.py --proto REPO/proto --stubs DIR A=HOST:PORT B=HOST:PORT C=HOST:PORT

Plant A receives steel S-1207, cuts it into bracket lot BR-1207 (order A/MO/1207), checks it and
ships it to plant B. Plant B receives BR-1207 under the same reference, builds it with motor lot
M-5531 into pump lot P-1207 (order B/MO/1207) and ships that to plant C. Plant C receives P-1207,
mounts the pumps on skids K-1207 (order C/MO/1207), packs them on pallet PAL-1207 and ships it to
a customer. Needs grpcio and grpcio-tools (the end-to-end tests' packages); the stubs are made
from proto/ into --stubs. Prints one line per plant; exits 1 if an event is not accepted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def stubs(proto: Path, out: Path):
    from grpc_tools import protoc

    out.mkdir(parents=True, exist_ok=True)
    include = Path(protoc.__file__).resolve().parent / "_proto"
    files = sorted(str(p.relative_to(proto)) for p in (proto / "mes").rglob("*.proto"))
    if protoc.main(["protoc", f"-I{proto}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}",
                    *files]) != 0:
        raise SystemExit(f"day.py: protoc failed on {proto}")
    sys.path.insert(0, str(out))
    from mes.v1 import common_pb2, events_pb2, events_pb2_grpc

    return common_pb2, events_pb2, events_pb2_grpc


def main() -> int:
    args = argparse.ArgumentParser()
    args.add_argument("--proto", type=Path, required=True)
    args.add_argument("--stubs", type=Path, required=True)
    args.add_argument("plants", nargs=3, help="A=HOST:PORT B=HOST:PORT C=HOST:PORT")
    a = args.parse_args()
    try:
        import grpc
        c, m, m_grpc = stubs(a.proto, a.stubs)
    except ImportError as e:
        print(f"day.py: {e}: pip install grpcio grpcio-tools (scripts/test installs them)", file=sys.stderr)
        return 1
    address = dict(p.split("=", 1) for p in a.plants)

    def lot(product, name):
        return c.LotRef(product=product, lot=name)

    def qty(value, uom):
        return c.Quantity(value=value, uom=uom)

    steel, bracket, motor = lot("STEEL-S235", "S-1207"), lot("BRACKET-7", "BR-1207"), lot("MOTOR-M2", "M-5531")
    pump, skid, pallet = lot("PUMP-P5", "P-1207"), lot("SKID-K1", "K-1207"), c.LotRef(container="PAL-1207")
    day = {
        "A": [
            ("received", "", m.MaterialReceived(lot=steel, qty=qty(400, "kg"), supplier="Acme Steel",
                                                supplier_lot="AS-88121", purchase_order="PO-A-881")),
            ("consumed", "A/MO/1207", m.MaterialConsumed(component=steel, qty=qty(380, "kg"))),
            ("produced", "A/MO/1207", m.ProductionReported(output=bracket, good=qty(1000, "Units"))),
            ("quality", "", m.QualityResult(lot=bracket, check="hardness", outcome=m.QualityResult.PASS)),
            ("shipped", "", m.Shipped(lot=bracket, qty=qty(1000, "Units"), customer="Plant B",
                                      delivery="A/OUT/1207")),
        ],
        "B": [
            ("received", "", m.MaterialReceived(lot=bracket, qty=qty(1000, "Units"), supplier="Plant A",
                                                purchase_order="PO-B-1207")),
            ("received", "", m.MaterialReceived(lot=motor, qty=qty(500, "Units"), supplier="Motors Inc",
                                                supplier_lot="MI-5531", purchase_order="PO-B-317")),
            ("consumed", "B/MO/1207", m.MaterialConsumed(component=bracket, qty=qty(1000, "Units"))),
            ("consumed", "B/MO/1207", m.MaterialConsumed(component=motor, qty=qty(500, "Units"))),
            ("produced", "B/MO/1207", m.ProductionReported(output=pump, good=qty(500, "Units"))),
            ("shipped", "", m.Shipped(lot=pump, qty=qty(500, "Units"), customer="Plant C", delivery="B/OUT/1207")),
        ],
        "C": [
            ("received", "", m.MaterialReceived(lot=pump, qty=qty(500, "Units"), supplier="Plant B",
                                                purchase_order="PO-C-1207")),
            ("consumed", "C/MO/1207", m.MaterialConsumed(component=pump, qty=qty(500, "Units"), into=skid)),
            ("produced", "C/MO/1207", m.ProductionReported(output=skid, good=qty(100, "Units"))),
            ("packed", "", m.Packed(container=pallet, contents=[skid], action=m.Packed.ADD)),
            ("shipped", "", m.Shipped(lot=pallet, qty=qty(1, "Units"), customer="Pumps Retail",
                                      delivery="C/OUT/1207", destination="DE-Berlin")),
        ],
    }
    failed = False
    for plant, events in day.items():
        with grpc.insecure_channel(address[plant]) as channel:
            ingest = m_grpc.EventIngestStub(channel)
            accepted = 0
            for n, (kind, work_order, body) in enumerate(events, start=1):
                e = m.Event(event_id=f"demo-{plant}-1207-{n}", occurred_at_ms=int(time.time() * 1000),
                            tz_offset="+01:00", work_center=f"{plant}-WC1", operator_id=f"{plant.lower()}-op7",
                            work_order=work_order)
                getattr(e, kind).CopyFrom(body)
                ack = ingest.Publish(e, timeout=10)
                if ack.result == m.Ack.REJECTED:
                    print(f"plant {plant}: {e.event_id} refused: {ack.reason}", file=sys.stderr)
                    failed = True
                else:
                    accepted += 1
        print(f"plant {plant}: {accepted} of {len(events)} events acknowledged "
              f"({', '.join(kind for kind, _, _ in events)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
