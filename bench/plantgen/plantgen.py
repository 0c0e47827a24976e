"""plantgen: a seeded, reproducible plant that emits mes.v1 shop-floor events.

Suppliers deliver raw lots against purchase orders; multi-level BoMs (LEVELS >= 5) turn them into
intermediates and finished goods through production orders; consumption is order-level (no `into`,
like Odoo's MO-wide consume lines) or direct (`into` the output: serial-level for serial-tracked
finished goods); some lots are split (Moved with new_lot); finished goods are packed onto pallets
(SSCC containers), some unpacked again; bulk raw lots (two products) feed up to a
thousand orders each, so recalls from them reach thousands of lots, and shipped to customers (pallets or loose lots); a few
finished lots go through rework orders that consume the lot and report the same lot as output (a
cycle in the graph); untracked material (glue) is consumed by product alone.

Events are plain dicts (see `Plant.emit`), independent of protobuf, so that tests can run their own
oracle over the same list; `to_pb(event, events_pb2, common_pb2)` turns one into a mes.v1.Event.

    python3 bench/plantgen/plantgen.py --seed 7 --events 1000000 --out plant-1m.bin
writes the events as length-delimited mes.v1.Event messages for `mesgate load`.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

BASE_MS = 1_780_000_000_000


def ref(product="", lot="", serial="", container=""):
    return {"product": product, "lot": lot, "serial": serial, "container": container}


class Plant:
    """The generator. `events()` yields event dicts until `target` events were emitted."""

    def __init__(self, seed: int, target: int, levels: int = 6, width: int = 4, window: int = 6,
                 rework_every: int = 400, split_every: int = 15, pallet_size: int = 6, unpack_every: int = 25):
        assert levels >= 5
        self.rng = random.Random(seed)
        self.seed = seed
        self.target = target
        self.levels = levels
        self.window = window
        self.rework_every = rework_every
        self.split_every = split_every
        self.pallet_size = pallet_size
        self.unpack_every = unpack_every
        self.count = 0
        self.n = 0  # running number for names
        # products[level] = list of product codes; level 0 is raw material, the top level finished goods.
        self.products = [[f"L{lv}-P{i}" for i in range(width if lv else width + 2)] for lv in range(levels)]
        self.serial_tracked = {p for p in self.products[-1][: width // 2]}
        # Bulk raw material (resin, flour): one lot feeds tens to a thousand orders, so that a recall
        # from it reaches thousands of lots.
        self.bulk = set(self.products[0][:2])
        # BoM: each product above level 0 takes 2-3 components from the level below (and sometimes raw).
        self.bom = {}
        for lv in range(1, levels):
            for p in self.products[lv]:
                comps = self.rng.sample(self.products[lv - 1], min(2 + self.rng.randrange(2), len(self.products[lv - 1])))
                if lv >= 2 and self.rng.random() < 0.5:
                    comps.append(self.rng.choice(self.products[0]))
                self.bom[p] = comps
        self.stock = {p: [] for lv in self.products for p in lv}  # recent lots per product (LotRef dicts)
        self.suppliers = [f"SUP-{i}" for i in range(8)]
        self.customers = [f"CUST-{i}" for i in range(12)]
        self.pallet = None
        self.pallet_items = []
        self.out: list[dict] = []

    # ------------------------------------------------------------------ emit
    def emit(self, kind: str, wo: str = "", **body) -> None:
        self.count += 1
        self.out.append({"event_id": f"pg{self.seed}-{self.count}", "kind": kind, "wo": wo,
                         "at": BASE_MS + self.count * 1000, **body})

    def name(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def remember(self, product: str, r: dict) -> None:
        """Puts a lot in stock for 1-4 later consumptions (so fan-out stays bounded, as in a plant)."""
        s = self.stock[product]
        uses = self.rng.choice((30, 100, 300, 1000)) if product in self.bulk else 1 + self.rng.randrange(4)
        s.append([r, uses])
        if len(s) > self.window:
            s.pop(0)

    def pick(self, product: str, level: int) -> list:
        """1-2 lots of `product` from stock, received or produced first when stock is empty."""
        s = self.stock[product]
        if not s:
            self.receive(product) if level == 0 else self.produce(product, level)
        picks = self.rng.sample(s, min(len(s), 1 + (self.rng.random() < 0.4)))
        for entry in picks:
            entry[1] -= 1
        s[:] = [entry for entry in s if entry[1] > 0]
        return [entry[0] for entry in picks]

    # ------------------------------------------------------------------ steps
    def receive(self, product: str) -> None:
        r = ref(product, self.name(f"R{self.seed}-"))
        self.emit("received", lot=r, qty=(100.0 + self.rng.randrange(900), "kg"),
                  supplier=self.rng.choice(self.suppliers), supplier_lot=self.name("SL"),
                  purchase_order=self.name("PO"), location="WH/Stock")
        self.remember(product, r)

    def produce(self, product: str, level: int) -> list:
        wo = self.name("MO/")
        serial = product in self.serial_tracked
        outputs = []
        n_out = 1 + (self.rng.random() < 0.3)
        for _ in range(n_out if not serial else 2 + self.rng.randrange(3)):
            lot_name = self.name(f"{'S' if serial else 'F'}{self.seed}-")
            outputs.append(ref(product, serial=lot_name) if serial else ref(product, lot_name))
        direct = serial or self.rng.random() < 0.35
        for comp in self.bom[product]:
            for c in self.pick(comp, int(comp[1:comp.index("-")])):
                if direct:
                    for o in outputs:
                        self.emit("consumed", wo=wo, component=c, qty=(1.0 + self.rng.randrange(20), "kg"), into=o)
                else:
                    self.emit("consumed", wo=wo, component=c, qty=(1.0 + self.rng.randrange(20), "kg"))
        if self.rng.random() < 0.3:
            self.emit("consumed", wo=wo, component=ref("GLUE"), qty=(0.5, "kg"))  # untracked: no edge
        for o in outputs:
            self.emit("produced", wo=wo, output=o, good=(10.0, "Units"), scrap=(0.0, "Units"))
            if o["lot"] and self.rng.randrange(self.split_every) == 0:
                new = ref(product, o["lot"] + "-S")
                self.emit("moved", lot=o, qty=(2.0, "Units"), from_location="WH/Stock", to_location="WH/Line",
                          new_lot=new)
                self.remember(product, new)
            self.remember(product, o)
        return outputs

    def rework(self, r: dict) -> None:
        wo = self.name("RW/")
        self.emit("consumed", wo=wo, component=r, qty=(1.0, "Units"))
        self.emit("produced", wo=wo, output=r, good=(1.0, "Units"), scrap=(0.0, "Units"))

    def pack_and_ship(self, items: list) -> None:
        for it in items:
            if self.rng.random() < 0.2:
                self.emit("shipped", lot=it, qty=(1.0, "Units"), customer=self.rng.choice(self.customers),
                          delivery=self.name("WH/OUT/"), destination="")
                continue
            if self.pallet is None:
                self.pallet = ref(container=self.name(f"SSCC{self.seed}-"))
                self.pallet_items = []
            self.emit("packed", container=self.pallet, contents=[it], action="ADD")
            self.pallet_items.append(it)
            if len(self.pallet_items) >= 2 and self.rng.randrange(self.unpack_every) == 0:
                gone = self.pallet_items.pop(0)
                self.emit("packed", container=self.pallet, contents=[gone], action="DELETE")
            if len(self.pallet_items) >= self.pallet_size:
                self.emit("shipped", lot=self.pallet, qty=(1.0, "Units"), customer=self.rng.choice(self.customers),
                          delivery=self.name("WH/OUT/"), destination="")
                self.pallet = None

    def events(self):
        """Yields event dicts, about `target` of them."""
        top = self.levels - 1
        orders = 0
        while self.count < self.target:
            product = self.rng.choice(self.products[top])
            outputs = self.produce(product, top)
            orders += 1
            if orders % self.rework_every == 0 and outputs[0]["lot"]:
                self.rework(outputs[0])
            self.pack_and_ship(outputs)
            yield from self.out
            self.out = []


class Day:
    """A plant day as Odoo's master data describes it (issue "Master data", parts 2-4): products
    with their tracking and unit, BoMs with quantities and operations at work centers (code and
    name apart), and orders that consume exactly what their BoM says for what they make, complete
    their last operation once, and report stops with their end. `master_data()` is what the Odoo
    emulator is seeded with. With `deviations`, a known set of mistakes is woven in, one of each;
    `expected` counts the exceptions they must raise, by kind (a clean day: none).
    """

    WORK_CENTERS = [{"name": "Mixing line", "code": "MIX-1"}, {"name": "Moulding press 2", "code": "PRESS-2"},
                    {"name": "Assembly cell", "code": "ASSY-1"}]
    PRODUCTS = [  # code, tracking, unit
        ("RESIN", "lot", "kg"), ("PIGMENT", "lot", "kg"), ("GLUE", "none", "kg"), ("BOLT", "none", "Units"),
        ("COMPOUND", "lot", "kg"), ("HOUSING", "lot", "Units"), ("PUMP", "serial", "Units"),
        ("SEAL-K", "none", "Units")]  # a spare part some released orders list: Odoo has 2 on hand
    BOMS = [  # product, qty, unit, lines (component, qty, unit), operations (name, work center code)
        ("COMPOUND", 100.0, "kg", [("RESIN", 95.0, "kg"), ("PIGMENT", 5.0, "kg")], [("mix", "MIX-1")]),
        ("HOUSING", 10.0, "Units", [("COMPOUND", 4.0, "kg"), ("GLUE", 0.5, "kg")],
         [("mould", "PRESS-2"), ("deburr", "PRESS-2")]),
        ("PUMP", 1.0, "Units", [("HOUSING", 1.0, "Units"), ("BOLT", 4.0, "Units")], [("assemble", "ASSY-1")]),
    ]
    DEVIATIONS = ["over_consumption", "unknown_product", "uom_mismatch", "lot_on_untracked", "missing_lot",
                  "unknown_work_center", "duplicate_completion", "machine_stopped", "quality_alert",
                  "material_shortage"]

    def __init__(self, seed: int = 7, orders: int = 12, deviations: bool = False):
        self.rng = random.Random(seed)
        self.seed = seed
        self.tag = f"d{seed}"
        self.out: list[dict] = []
        self.n = 0
        self.orders: list[dict] = []
        self.expected: dict[str, int] = {}
        self.bom = {b[0]: b for b in self.BOMS}
        todo = list(self.DEVIATIONS) if deviations else []
        # Which order carries which deviation (the stops and the failed check go with orders too).
        self.plan = {i: todo[i] for i in range(min(len(todo), orders))}
        for kind in todo:
            self.expected[kind] = self.expected.get(kind, 0) + 1
        if "lot_on_untracked" in todo:
            self.expected["unknown_lot"] = 1  # the glue lot nobody received: flagged too
        for i in range(orders):
            self.order(("COMPOUND", "HOUSING", "PUMP")[i % 3], i)

    def emit(self, kind: str, wo: str = "", wc: str = "", **body) -> None:
        self.n += 1
        self.out.append({"event_id": f"day{self.seed}-{self.n}", "kind": kind, "wo": wo, "wc": wc,
                         "at": BASE_MS + self.n * 1000, **body})

    def lot(self, product: str, serial: bool = False) -> dict:
        self.n += 1
        name = f"{product[:3]}{self.seed}-{self.n}"
        return ref(product, serial=name) if serial else ref(product, name)

    def order(self, product: str, i: int) -> None:
        deviation = self.plan.get(i)
        _, bom_qty, unit, lines, operations = self.bom[product]
        wo = f"WH/MO/{self.tag}-{i:03d}"
        made = {"COMPOUND": 200.0, "HOUSING": 20.0, "PUMP": 1.0}[product]
        components = [{"product": c, "qty": q * made / bom_qty, "uom": u,
                       "tracking": dict((p, t) for p, t, _ in self.PRODUCTS)[c]} for c, q, u in lines]
        if deviation == "material_shortage":  # released needing 10 spare seals, of which Odoo has 2
            components.append({"product": "SEAL-K", "qty": 10.0, "uom": "Units", "tracking": "none"})
        self.orders.append({"name": wo, "product": product, "qty": made, "components": components})
        wc = operations[0][1]
        self.emit("operation", wo, wc, operation=operations[0][0], state="STARTED")
        if deviation == "unknown_work_center":
            self.emit("operation", wo, "PRESS-9", operation=operations[0][0], state="PAUSED")
        if deviation == "machine_stopped":
            self.emit("downtime", wo, wc, reason="hydraulics", started_at_ms=BASE_MS + self.n * 1000, ended_at_ms=0)
        else:
            self.emit("downtime", wo, wc, reason="changeover", started_at_ms=BASE_MS + self.n * 1000,
                      ended_at_ms=BASE_MS + self.n * 1000 + 60_000)
        for component, qty, line_unit in lines:
            need = qty * made / bom_qty
            if deviation == "over_consumption" and component == lines[0][0]:
                need *= 1.3
            tracked = dict((p, t) for p, t, _ in self.PRODUCTS)[component] != "none"
            if tracked:
                lot = self.lot(component)
                if component in ("RESIN", "PIGMENT"):
                    self.emit("received", lot=lot, qty=(need, line_unit), supplier="Polymeres du Rhone",
                              supplier_lot=f"SL-{self.n}", purchase_order=f"PO-{self.n}", location="WH/Stock")
                else:
                    self.emit("produced", f"WH/MO/{self.tag}-stock-{self.n}", "", output=lot,
                              good=(need, line_unit), scrap=(0.0, line_unit))
                if deviation == "missing_lot" and component == lines[0][0]:
                    lot = ref(component)
                uom = line_unit
                if deviation == "uom_mismatch" and component == lines[0][0]:
                    uom = "kg" if line_unit == "Units" else "Units"  # outside the product's unit category
                self.emit("consumed", wo, wc, component=lot, qty=(need, uom))
            else:
                self.emit("consumed", wo, wc, component=ref(component), qty=(need, line_unit))
        if deviation == "lot_on_untracked":  # bolts (untracked) reported with a lot nobody received
            self.emit("consumed", wo, wc, component=ref("BOLT", f"B{self.seed}-{self.n}"), qty=(1.0, "Units"))
        if deviation == "unknown_product":
            self.emit("consumed", wo, wc, component=ref("SPRING-X"), qty=(2.0, "Units"))
        if product == "PUMP":
            output = self.lot(product, serial=True)
        else:
            output = self.lot(product)
        self.emit("produced", wo, wc, output=output, good=(made, unit), scrap=(0.0, unit))
        outcome = "FAIL" if deviation == "quality_alert" else "PASS"
        self.emit("quality", wo, wc, lot=output, check="visual", outcome=outcome)
        for name, center in operations:
            self.emit("operation", wo, center, operation=name, state="COMPLETED")
        if deviation == "duplicate_completion":
            self.emit("operation", wo, operations[-1][1], operation=operations[-1][0], state="COMPLETED")

    def master_data(self) -> dict:
        """The Odoo emulator's seed (`Emulator.seed`): products, work centers, BoMs, orders."""
        return {
            "products": [{"default_code": p, "tracking": t, "uom": u, **({"qty_available": 2} if p == "SEAL-K" else {})}
                         for p, t, u in self.PRODUCTS],
            "workcenters": self.WORK_CENTERS,
            "boms": [{"product": p, "qty": q, "uom": u,
                      "lines": [{"product": c, "qty": cq, "uom": cu} for c, cq, cu in lines],
                      "operations": [{"name": n, "work_center": w, "minutes": 10} for n, w in ops]}
                     for p, q, u, lines, ops in self.BOMS],
            "productions": [{"name": o["name"], "product": o["product"], "qty": o["qty"],
                             "tracking": dict((p, t) for p, t, _ in self.PRODUCTS)[o["product"]],
                             "components": o["components"]}
                            for o in self.orders],
        }


def generate(seed: int, target: int, **kw) -> list:
    return list(Plant(seed, target, **kw).events())


# ---------------------------------------------------------------------- protobuf
def _lot(c, r):
    return c.LotRef(product=r["product"], lot=r["lot"], serial=r["serial"], container=r["container"])


def _qty(c, q):
    return c.Quantity(value=q[0], uom=q[1])


def to_pb(e: dict, m, c):
    """One event dict as a mes.v1.Event (`m` = events_pb2, `c` = common_pb2)."""
    ev = m.Event(event_id=e["event_id"], occurred_at_ms=e["at"], tz_offset="+01:00", plant="PLANT-G",
                 work_center=e.get("wc", "WC-1"), operator_id="op-1", work_order=e["wo"])
    k = e["kind"]
    if k == "received":
        ev.received.CopyFrom(m.MaterialReceived(lot=_lot(c, e["lot"]), qty=_qty(c, e["qty"]), supplier=e["supplier"],
                                                supplier_lot=e["supplier_lot"], purchase_order=e["purchase_order"],
                                                location=e["location"]))
    elif k == "consumed":
        b = m.MaterialConsumed(component=_lot(c, e["component"]), qty=_qty(c, e["qty"]))
        if e.get("into"):
            b.into.CopyFrom(_lot(c, e["into"]))
        ev.consumed.CopyFrom(b)
    elif k == "produced":
        ev.produced.CopyFrom(m.ProductionReported(output=_lot(c, e["output"]), good=_qty(c, e["good"]),
                                                  scrap=_qty(c, e["scrap"])))
    elif k == "moved":
        ev.moved.CopyFrom(m.Moved(lot=_lot(c, e["lot"]), qty=_qty(c, e["qty"]), from_location=e["from_location"],
                                  to_location=e["to_location"], new_lot=_lot(c, e["new_lot"])))
    elif k == "packed":
        ev.packed.CopyFrom(m.Packed(container=_lot(c, e["container"]), contents=[_lot(c, r) for r in e["contents"]],
                                    action=m.Packed.ADD if e["action"] == "ADD" else m.Packed.DELETE))
    elif k == "shipped":
        ev.shipped.CopyFrom(m.Shipped(lot=_lot(c, e["lot"]), qty=_qty(c, e["qty"]), customer=e["customer"],
                                      delivery=e["delivery"], destination=e["destination"]))
    elif k == "operation":
        ev.operation.CopyFrom(m.OperationReported(operation=e["operation"],
                                                  state=getattr(m.OperationReported, e["state"])))
    elif k == "downtime":
        ev.downtime.CopyFrom(m.DowntimeReported(reason=e["reason"], loss=m.DowntimeReported.AVAILABILITY,
                                                started_at_ms=e["started_at_ms"], ended_at_ms=e["ended_at_ms"]))
    elif k == "quality":
        ev.quality.CopyFrom(m.QualityResult(lot=_lot(c, e["lot"]), check=e["check"],
                                            outcome=getattr(m.QualityResult, e["outcome"])))
    else:
        raise ValueError(k)
    return ev


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def load_stubs():
    """events_pb2 and common_pb2 generated from proto/ into a temporary folder."""
    import importlib
    import tempfile
    from grpc_tools import protoc
    proto = Path(__file__).resolve().parents[2] / "proto"
    out = tempfile.mkdtemp(prefix="plantgen-stubs-")
    include = Path(protoc.__file__).resolve().parent / "_proto"
    files = [str(p.relative_to(proto)) for p in sorted((proto / "mes").rglob("*.proto"))]
    if protoc.main(["protoc", f"-I{proto}", f"-I{include}", f"--python_out={out}", *files]) != 0:
        raise RuntimeError("protoc failed")
    sys.path.insert(0, out)
    return importlib.import_module("mes.v1.events_pb2"), importlib.import_module("mes.v1.common_pb2")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--out", required=True, help="file of length-delimited mes.v1.Event messages")
    a = ap.parse_args()
    m, c = load_stubs()
    n = 0
    with open(a.out, "wb", buffering=1 << 20) as f:
        for e in Plant(a.seed, a.events).events():
            b = to_pb(e, m, c).SerializeToString()
            f.write(_varint(len(b)))
            f.write(b)
            n += 1
    print(f"plantgen: seed {a.seed}: {n} events -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
