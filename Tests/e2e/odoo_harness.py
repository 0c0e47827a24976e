"""The Odoo emulator as the e2e tests use it: a real HTTP server in its own process
(Tests/odoo_emulator), a small control client, the gateway options that point mesgate at it,
and a plant day of events with the Odoo state it must end in."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import REPO, RPC_TIMEOUT_S, stubs

EMULATOR = REPO / "Tests" / "odoo_emulator"


class Emulator:
    """One emulator process. `url` is what mesgate is given."""

    def __init__(self, version: int, logs: Path, tls: tuple[Path, Path] | None = None):
        self.version = version
        logs.mkdir(parents=True, exist_ok=True)
        self.log = open(logs / f"odoo-emulator-{uuid.uuid4().hex[:6]}.log", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, str(EMULATOR), "--port", "0", "--version", str(version),
             *(["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])] if tls else [])],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"odoo emulator did not start: {line!r}")
        self.url = line.split()[3]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.log.close()

    def _call(self, path: str, body=None):
        import ssl

        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data, {"Content-Type": "application/json"})
        context = ssl._create_unverified_context() if self.url.startswith("https") else None  # the test's own cert
        with urllib.request.urlopen(req, timeout=30, context=context) as r:
            return json.loads(r.read())

    def seed(self, **spec):
        return self._call("/emulator/seed", spec)

    def fault(self, kind: str, **spec):
        return self._call("/emulator/fault", {"kind": kind, **spec})

    def clear_faults(self):
        return self._call("/emulator/clear_faults", {})

    def set_product(self, code: str, **fields):
        return self._call("/emulator/product", {"default_code": code, **fields})

    def set_bom(self, product: str, **changes) -> int | None:
        """Changes `product`'s BoM as a user saving its form would (one mrp.bom write): `qty`, `uom`,
        `code`, `lines` [{product, qty, uom}] and `operations` [{name, work_center, minutes}] replace
        what the BoM had; `find_code` picks the BoM by its reference. Returns the BoM's id."""
        return self._call("/emulator/bom", {"product": product, **changes})

    def set_workcenter(self, find_name: str, **changes) -> bool:
        """Renames the work center called `find_name` or changes its code (`name`, `code`)."""
        return self._call("/emulator/workcenter", {"find_name": find_name, **changes})

    def unlink(self, model: str, domain: list) -> list[int]:
        return self._call("/emulator/unlink", {"model": model, "domain": domain})

    def state(self) -> dict:
        return self._call("/emulator/state")["records"]

    def stats(self) -> dict:
        return self._call("/emulator/stats")

    def records(self, model: str) -> list[dict]:
        return list(self.state()[model].values())


def gateway_args(emu: Emulator, **overrides) -> list[str]:
    opts = {"odoo-url": emu.url, "odoo-db": "plant", "odoo-login": "mesgate", "odoo-api-key": "secret-key",
            "odoo-coalesce-ms": 300, "odoo-retry-base-ms": 100, "odoo-retry-max-ms": 1000,
            "odoo-timeout-ms": 2000, "odoo-auth-pause-ms": 500}
    opts.update({k.replace("_", "-"): v for k, v in overrides.items()})
    args = []
    for k, v in opts.items():
        args += [f"--{k}", str(v)]
    return args


def outbox_states(server, exceptions: bool = False) -> dict:
    """Outbox rows by state: those of events and holds, or (`exceptions`) those of exceptions."""
    where = "exception_id IS NOT NULL" if exceptions else "exception_id IS NULL"
    return dict(server.query(f"SELECT state, count(*) FROM outbox WHERE {where} GROUP BY state"))


def wait_drained(server, timeout: float = 60.0, allow_dead: bool = True) -> dict:
    """Waits until no outbox row is pending or failed; returns the counts by state of the rows of
    events and holds. Rows of exceptions (a plant day's stop and failed check raise some: their
    Odoo activities, test_exception_workflow.py) are drained too but not counted here."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = outbox_states(server)
        raised = outbox_states(server, exceptions=True)
        if not states.get("pending") and not states.get("failed") and not raised.get("pending") \
                and not raised.get("failed"):
            return states
        time.sleep(0.1)
    raise AssertionError(f"outbox not drained after {timeout}s: {outbox_states(server)}; "
                         f"errors: {server.query('SELECT id, kind, last_error FROM outbox WHERE state != ?', ('posted',))[:5]}")


# --------------------------------------------------------------------------- holds


def plant_holds(server) -> tuple[set, set]:
    """What the plant holds: (open, released) as sets of (hold id, product, lot or serial name),
    from the store's holds and the lots and serials each covers (containers have no Odoo lot)."""
    rows = server.query(
        "SELECT h.id, n.product, CASE n.kind WHEN 'serial' THEN n.serial ELSE n.lot END, h.released_at_ms IS NULL "
        "FROM holds h JOIN hold_items i ON i.hold_id = h.id JOIN nodes n ON n.id = i.node_id "
        "WHERE n.kind IN ('lot', 'serial')")
    return ({(h, p, name) for h, p, name, is_open in rows if is_open},
            {(h, p, name) for h, p, name, is_open in rows if not is_open})


def odoo_holds(emu: Emulator) -> tuple[list, list]:
    """What Odoo shows: the open hold activities and the "done" messages of released ones, each as
    (hold id, product code, lot name) — a list, so a duplicate shows."""
    st = emu.state()
    codes = {int(k): r["default_code"] for k, r in st["product.product"].items()}
    lots = {int(k): (codes[r["product_id"]], r["name"]) for k, r in st["stock.lot"].items()}
    activities = []
    for a in st["mail.activity"].values():
        m = re.search(r"\[MES:hold:(\d+)\]", a.get("summary") or "")
        if m and a["res_model"] == "stock.lot" and a.get("active", True):
            activities.append((int(m.group(1)), *lots[a["res_id"]]))
    done = []
    for msg in st["mail.message"].values():
        m = re.search(r"done: Quality hold \[MES:hold:(\d+)\]", msg.get("body") or "")
        if m and msg["model"] == "stock.lot":
            done.append((int(m.group(1)), *lots[msg["res_id"]]))
    return activities, done


# --------------------------------------------------------------------------- a plant day


class PlantDay:
    """Two orders of one day: MO-A makes a lot of BRACKET from two STEEL lots and loose bolts,
    with scrap, a downtime opened then closed, and a failed quality check; MO-B makes one serial
    of PUMP. `tag` keeps names unique per test."""

    def __init__(self, tag: str | None = None):
        self.tag = tag or uuid.uuid4().hex[:6]
        t = self.tag
        self.mo_a, self.mo_b = f"WH/MO/A{t}", f"WH/MO/B{t}"
        self.out_lot, self.serial = f"BR-{t}", f"SN-{t}"
        self.steel1, self.steel2 = f"ST1-{t}", f"ST2-{t}"
        self.wc = f"WC-{t}"
        self.events = []

    def seed(self, emu: Emulator):
        return emu.seed(
            products=[{"default_code": "BRACKET", "tracking": "lot"}, {"default_code": "STEEL", "tracking": "lot"},
                      {"default_code": "BOLT", "tracking": "none"}, {"default_code": "PUMP", "tracking": "serial"},
                      {"default_code": "HOUSING", "tracking": "lot"}],
            workcenters=[self.wc],
            productions=[
                {"name": self.mo_a, "product": "BRACKET", "qty": 10, "tracking": "lot",
                 "components": [{"product": "STEEL", "tracking": "lot", "qty": 8},
                                {"product": "BOLT", "qty": 20}],
                 "operations": [{"name": "cut", "work_center": self.wc, "minutes": 30}]},
                {"name": self.mo_b, "product": "PUMP", "qty": 1, "tracking": "serial",
                 "components": [{"product": "HOUSING", "tracking": "lot", "qty": 1}]},
            ])

    def build(self):
        m = stubs().events_pb2
        c = stubs().common_pb2
        now = int(time.time() * 1000)
        n = iter(range(1_000_000))

        def ev(order, **body):
            return m.Event(event_id=f"pd-{self.tag}-{next(n)}", occurred_at_ms=now, tz_offset="+01:00",
                           plant="P1", work_center=self.wc, operator_id="op-1", work_order=order, **body)

        def q(v, uom="kg"):
            return c.Quantity(value=v, uom=uom)

        lot = c.LotRef
        a, b = self.mo_a, self.mo_b
        self.events = [
            ev("", received=m.MaterialReceived(lot=lot(product="STEEL", lot=self.steel1), qty=q(50), supplier="Acme")),
            ev("", received=m.MaterialReceived(lot=lot(product="STEEL", lot=self.steel2), qty=q(50), supplier="Acme")),
            ev(a, operation=m.OperationReported(operation="cut", state=m.OperationReported.STARTED)),
            ev(a, consumed=m.MaterialConsumed(component=lot(product="STEEL", lot=self.steel1), qty=q(5))),
            ev(a, consumed=m.MaterialConsumed(component=lot(product="STEEL", lot=self.steel2), qty=q(3))),
            ev(a, consumed=m.MaterialConsumed(component=lot(product="BOLT"), qty=q(20, "Units"))),
            ev(a, produced=m.ProductionReported(output=lot(product="BRACKET", lot=self.out_lot), good=q(4, "Units"))),
            ev(a, downtime=m.DowntimeReported(reason="jam", loss=m.DowntimeReported.AVAILABILITY,
                                              started_at_ms=now - 600_000)),
            ev(a, scrapped=m.Scrapped(lot=lot(product="STEEL", lot=self.steel1), qty=q(0.5), reason="offcut")),
            ev(a, produced=m.ProductionReported(output=lot(product="BRACKET", lot=self.out_lot), good=q(6, "Units"))),
            ev(a, downtime=m.DowntimeReported(reason="jam", loss=m.DowntimeReported.AVAILABILITY,
                                              started_at_ms=now - 600_000, ended_at_ms=now - 300_000)),
            ev(a, quality=m.QualityResult(lot=lot(product="BRACKET", lot=self.out_lot), check="hardness",
                                          outcome=m.QualityResult.FAIL)),
            ev(a, operation=m.OperationReported(operation="cut", state=m.OperationReported.COMPLETED)),
            ev(b, consumed=m.MaterialConsumed(component=lot(product="HOUSING", lot=f"H-{self.tag}"), qty=q(1, "Units"))),
            ev(b, produced=m.ProductionReported(output=lot(product="PUMP", serial=self.serial), good=q(1, "Units"))),
            ev(b, operation=m.OperationReported(operation="assemble", state=m.OperationReported.COMPLETED)),
        ]
        return self.events

    def publish(self, server, events=None):
        stub = stubs().events_pb2_grpc.EventIngestStub(server.channel())
        acks = list(stub.PublishStream(iter(events or self.build()), timeout=RPC_TIMEOUT_S))
        assert all(a.result == stubs().events_pb2.Ack.ACCEPTED for a in acks), acks
        return acks

    # ---- what Odoo must hold afterwards, each thing exactly once

    def check(self, emu: Emulator) -> None:
        st = emu.state()
        products = {r["default_code"]: r["id"] for r in st["product.product"].values()}
        lots = [r for r in st["stock.lot"].values()]
        keys = [(r["name"], r["product_id"]) for r in lots]
        assert len(keys) == len(set(keys)), f"duplicate lots: {keys}"
        lot_id = {(r["name"], r["product_id"]): r["id"] for r in lots}
        mos = {r["name"]: r for r in st["mrp.production"].values()}
        a, b = mos[self.mo_a], mos[self.mo_b]
        assert a["state"] == "done" and a["qty_producing"] == 10, a
        assert b["state"] == "done" and b["qty_producing"] == 1, b
        a_lot = lot_id[(self.out_lot, products["BRACKET"])]
        b_lot = lot_id[(self.serial, products["PUMP"])]
        if emu.version >= 19:
            assert a["lot_producing_ids"] == [a_lot] and b["lot_producing_ids"] == [b_lot]
        else:
            assert a["lot_producing_id"] == a_lot and b["lot_producing_id"] == b_lot
        lines = {}
        for ml in st["stock.move.line"].values():
            move = st["stock.move"][str(ml["move_id"])]
            if move["raw_material_production_id"] != a["id"]:
                continue
            key = (ml["product_id"], ml.get("lot_id") or None)
            assert key not in lines, f"duplicate move line {key}"
            lines[key] = (ml["quantity"], ml["picked"])
        assert lines == {
            (products["STEEL"], lot_id[(self.steel1, products["STEEL"])]): (5, True),
            (products["STEEL"], lot_id[(self.steel2, products["STEEL"])]): (3, True),
            (products["BOLT"], None): (20, True),
        }, lines
        scraps = [s for s in st["stock.scrap"].values() if s.get("production_id") == a["id"]]
        assert len(scraps) == 1 and scraps[0]["scrap_qty"] == 0.5 and scraps[0]["state"] == "done", scraps
        assert scraps[0]["lot_id"] == lot_id[(self.steel1, products["STEEL"])]
        wcs = {r["name"]: r["id"] for r in st["mrp.workcenter"].values()}
        downs = [d for d in st["mrp.workcenter.productivity"].values() if d["workcenter_id"] == wcs[self.wc]]
        assert len(downs) == 1 and downs[0]["date_end"], downs
        notes = [n for n in st["mail.message"].values() if n["model"] == "stock.lot" and n["res_id"] == a_lot]
        assert len(notes) == 1 and "FAIL" in notes[0]["body"], notes


@pytest.fixture
def emulator_factory(tmp_path):
    """Starts emulators for a test (`make(version)`) and stops them after it. Test modules import it."""
    made = []

    def make(version: int) -> Emulator:
        emu = Emulator(version, tmp_path / "logs")
        made.append(emu)
        return emu

    yield make
    for emu in made:
        emu.stop()


def reconcile(binary, server, emu: Emulator, *orders: str) -> subprocess.CompletedProcess:
    """`mesgate reconcile` of the server's store against the emulator (its URL, database and login),
    of `orders` only when given."""
    only = [arg for name in orders for arg in ("--order", name)]
    return subprocess.run([str(binary), "reconcile", "--data", str(server.data), *gateway_args(emu)[:8], *only],
                          capture_output=True, text=True, timeout=60)


def mesgate(binary, server, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), *args, "--data", str(server.data)], capture_output=True, text=True, timeout=60)
