"""Master data from Odoo (issue 14, part 1): mesgate reads products, units, work centers and BoMs
with their operations from the Odoo emulator (17 over JSON-RPC, 19 over JSON-2, which has no uom
categories) and keeps them versioned; MasterData.List serves them with revisions, Subscribe
streams a BoM changed in Odoo as a new revision within one poll, the CLI shows an item's history,
and released orders name the BoM revision they were released with."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
import uuid

import grpc
import pytest

from conftest import stubs
from odoo_harness import emulator_factory, gateway_args, mesgate  # noqa: F401 (a fixture)

POLL_MS = 300


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def seed(emu, tag):
    wc = {"name": f"Band saw {tag}", "code": f"SAW-{tag}"}
    return wc, emu.seed(
        products=[{"default_code": f"BRACKET-{tag}", "tracking": "lot", "name": "Bracket"},
                  {"default_code": f"STEEL-{tag}", "tracking": "lot", "uom": "kg"},
                  {"default_code": f"BOLT-{tag}", "tracking": "none"}],
        workcenters=[wc],
        boms=[{"product": f"BRACKET-{tag}", "qty": 1,
               "lines": [{"product": f"STEEL-{tag}", "qty": 0.8, "uom": "kg"},
                         {"product": f"BOLT-{tag}", "qty": 2}],
               "operations": [{"name": "cut", "work_center": wc["code"], "minutes": 3}]}],
        productions=[{"name": f"MO-{tag}-1", "product": f"BRACKET-{tag}", "qty": 10, "tracking": "lot"}])


@pytest.mark.parametrize("version", [17, 19])
def test_bom_changed_in_odoo_is_a_new_revision(server_factory, emulator_factory, binary, version):
    emu = emulator_factory(version)
    tag = uuid.uuid4().hex[:6]
    bracket, steel, bolt = f"BRACKET-{tag}", f"STEEL-{tag}", f"BOLT-{tag}"
    wc, ids = seed(emu, tag)
    bom_key = str(ids["boms"][bracket])
    srv = server_factory(gateway_args(emu, odoo_masterdata_poll_ms=POLL_MS, odoo_release_poll_ms=200))
    md = stubs().master_data_pb2
    stub = stubs().master_data_pb2_grpc.MasterDataStub(srv.channel())
    Item = md.MasterItem

    def listed(kind, key=""):
        return list(stub.List(md.MasterDataFilter(kind=kind, key=key), timeout=5).items)

    # List: every kind, each item with its revision.
    bom = wait_for(lambda: listed(Item.BOM, bom_key))[0]
    assert bom.revision == 1 and bom.odoo_id == ids["boms"][bracket] and not bom.changed_fields
    assert bom.bom.product == bracket and bom.bom.qty == 1 and bom.bom.uom == "Units" and bom.bom.active
    assert [(l.product, l.qty, l.uom) for l in bom.bom.lines] == [(steel, 0.8, "kg"), (bolt, 2, "Units")]
    assert [(o.name, o.work_center, o.minutes) for o in bom.bom.operations] == [("cut", wc["code"], 3)]
    products = {p.key: p for p in listed(Item.PRODUCT)}
    weight = "Weight" if version < 19 else "kg"  # 19 has no categories: a unit's root unit stands for one
    assert (products[steel].product.tracking, products[steel].product.uom,
            products[steel].product.uom_category) == ("lot", "kg", weight)
    assert (products[bolt].product.tracking, products[bolt].product.uom_category) == (
        "none", "Unit" if version < 19 else "Units")
    assert products[bracket].revision == 1 and products[bracket].product.name == "Bracket"
    centers = {c.key: c for c in listed(Item.WORK_CENTER)}
    assert centers[wc["code"]].work_center.name == wc["name"]
    units = {u.key: u.uom for u in listed(Item.UOM)}
    assert units["g"].category == units["kg"].category == weight and units["g"].ratio == pytest.approx(0.001)
    assert units["Dozens"].ratio == pytest.approx(12)

    # The released order names the BoM revision it was released with.
    wo = stubs().work_orders_pb2
    orders = stubs().work_orders_pb2_grpc.WorkOrdersStub(srv.channel())
    first = wait_for(lambda: [o for o in orders.List(wo.WorkOrderFilter(), timeout=5).work_orders
                              if o.id == f"MO-{tag}-1"])[0]
    assert (first.bom, first.bom_revision) == (bom_key, 1)

    # Subscribe (BoMs only): the current set, then the BoM changed in Odoo within one poll.
    got: queue.Queue = queue.Queue()
    call = stub.Subscribe(md.MasterDataFilter(kind=Item.BOM), timeout=60)

    def drain():
        try:
            for item in call:
                got.put(item)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.CANCELLED, e

    threading.Thread(target=drain, daemon=True).start()
    current = got.get(timeout=10)
    assert (current.key, current.revision) == (bom_key, 1)
    changed_at = time.monotonic()
    emu.set_bom(bracket, lines=[{"product": steel, "qty": 0.9, "uom": "kg"}, {"product": bolt, "qty": 2}])
    new = got.get(timeout=10)
    took = time.monotonic() - changed_at
    assert (new.key, new.revision) == (bom_key, 2)
    assert list(new.changed_fields) == [f"lines.{steel}"]
    assert [(l.product, l.qty) for l in new.bom.lines] == [(steel, 0.9), (bolt, 2)]
    # Within one poll: the interval plus the poll's own time (a handful of Odoo calls).
    assert took < POLL_MS / 1000 + 1.5, f"new revision after {took:.2f} s"
    # A work center renamed is not a BoM: this subscriber hears nothing more.
    emu.set_workcenter(wc["name"], name=f"Band saw 2 {tag}")
    renamed = wait_for(lambda: [c for c in listed(Item.WORK_CENTER, wc["code"]) if c.revision == 2])[0]
    assert list(renamed.changed_fields) == ["name"]
    assert got.empty()
    call.cancel()

    # The order released before the change keeps revision 1; one released after it names revision 2.
    emu.seed(productions=[{"name": f"MO-{tag}-2", "product": bracket, "qty": 5, "tracking": "lot"}])
    second = wait_for(lambda: [o for o in orders.List(wo.WorkOrderFilter(), timeout=5).work_orders
                               if o.id == f"MO-{tag}-2"])[0]
    assert (second.bom, second.bom_revision) == (bom_key, 2)
    assert [o.bom_revision for o in orders.List(wo.WorkOrderFilter(), timeout=5).work_orders
            if o.id == f"MO-{tag}-1"] == [1]

    # The CLI: the item and its history (by the BoM's id, or by its product), and the list.
    shown = mesgate(binary, srv, "masterdata", "show", "bom", bracket)
    assert shown.returncode == 0, shown.stderr
    assert f"bom {bom_key} ({bracket})  revision 2" in shown.stdout, shown.stdout
    assert f"component {steel}: 0.9 kg" in shown.stdout
    history = [line.split()[0] for line in shown.stdout.splitlines() if line.startswith("  r")]
    assert history == ["r1", "r2"], shown.stdout
    assert f"changed: lines.{steel}" in shown.stdout
    as_json = json.loads(mesgate(binary, srv, "masterdata", "show", "bom", bom_key, "--json").stdout)
    assert [(r["revision"], r["changed_fields"]) for r in as_json["history"]] == [(1, []), (2, [f"lines.{steel}"])]
    assert as_json["history"][0]["content"]["lines"][0]["qty"] == 0.8
    listed_cli = mesgate(binary, srv, "masterdata", "list", "work_center")
    assert f"work_center {wc['code']} (Band saw 2 {tag})  revision 2" in listed_cli.stdout, listed_cli.stdout
    remote = subprocess.run([str(binary), "masterdata", "list", "product", "--server", srv.address],
                            capture_output=True, text=True, timeout=60)
    assert remote.returncode == 0 and f"product {steel}  revision 1" in remote.stdout, remote.stdout + remote.stderr


def test_sync_on_demand_records_only_what_changed(server_factory, emulator_factory, binary):
    emu = emulator_factory(17)
    tag = uuid.uuid4().hex[:6]
    seed(emu, tag)
    srv = server_factory()  # no Odoo: nothing polls
    srv.stop()
    args = [str(binary), "masterdata", "sync", "--data", str(srv.data), *gateway_args(emu)[:8]]
    first = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "new revision(s)" in first.stdout and f"product STEEL-{tag}" in first.stdout
    again = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "; 0 new revision(s)" in again.stdout, again.stdout
    emu.set_product(f"BOLT-{tag}", tracking="lot")
    third = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert "; 1 new revision(s)" in third.stdout and f"product BOLT-{tag}  revision 2" in third.stdout, third.stdout
    shown = subprocess.run([str(binary), "masterdata", "show", "product", f"BOLT-{tag}", "--data", str(srv.data)],
                           capture_output=True, text=True, timeout=60)
    assert "tracking: lot" in shown.stdout and "changed: tracking" in shown.stdout, shown.stdout
