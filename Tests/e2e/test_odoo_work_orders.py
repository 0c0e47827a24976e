"""Production order release: mesgate polls the Odoo emulator for released mrp.production and
serves them over WorkOrders.List (at once) and WorkOrders.Subscribe (the set, then every change)."""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.request

import grpc
import pytest

from conftest import stubs
from odoo_harness import Emulator, PlantDay, gateway_args


def odoo_call(emu: Emulator, model: str, method: str, args: list, kwargs: dict | None = None):
    body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
        "service": "object", "method": "execute_kw",
        "args": ["plant", 2, "secret-key", model, method, args, kwargs or {}]}}
    req = urllib.request.Request(emu.url + "/jsonrpc", json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        answer = json.loads(r.read())
    assert "error" not in answer, answer
    return answer["result"]


@pytest.fixture
def emulator(tmp_path):
    emu = Emulator(19, tmp_path / "logs")
    yield emu
    emu.stop()


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_list_and_subscribe_follow_odoo(server_factory, emulator):
    day = PlantDay()
    ids = day.seed(emulator)["productions"]
    srv = server_factory(gateway_args(emulator, odoo_release_poll_ms=200))
    wo = stubs().work_orders_pb2
    stub = stubs().work_orders_pb2_grpc.WorkOrdersStub(srv.channel())

    listed = wait_for(lambda: len(stub.List(wo.WorkOrderFilter(), timeout=5).work_orders) == 2
                      and stub.List(wo.WorkOrderFilter(), timeout=5).work_orders)
    a = next(o for o in listed if o.id == day.mo_a)
    assert a.odoo_id == ids[day.mo_a] and a.product == "BRACKET" and a.qty == 10 and a.state == "confirmed"
    assert a.output_tracking == wo.WorkOrder.LOT and a.revision == 1
    assert [(c.product, c.qty, c.tracking) for c in a.components] == [
        ("STEEL", 8, wo.WorkOrder.LOT), ("BOLT", 20, wo.WorkOrder.NONE)]
    assert [(op.name, op.work_center, op.expected_minutes) for op in a.operations] == [("cut", day.wc, 30)]
    assert a.scheduled_start_ms == 1795759200000  # 2026-11-27 06:00:00 UTC
    b = next(o for o in listed if o.id == day.mo_b)
    assert b.output_tracking == wo.WorkOrder.SERIAL
    only_pump = stub.List(wo.WorkOrderFilter(product="PUMP"), timeout=5).work_orders
    assert [o.id for o in only_pump] == [day.mo_b]
    only_wc = stub.List(wo.WorkOrderFilter(work_center=day.wc), timeout=5).work_orders
    assert [o.id for o in only_wc] == [day.mo_a]

    got: queue.Queue = queue.Queue()
    call = stub.Subscribe(wo.WorkOrderFilter(), timeout=60)
    def drain():
        try:
            for o in call:
                got.put(o)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.CANCELLED, e

    threading.Thread(target=drain, daemon=True).start()
    first = {got.get(timeout=10).id for _ in range(2)}
    assert first == {day.mo_a, day.mo_b}

    # A new release, then a cancellation, reach the subscriber as they happen.
    emulator.seed(productions=[{"name": f"{day.mo_a}-NEW", "product": "BRACKET", "qty": 3, "tracking": "lot"}])
    new = got.get(timeout=10)
    assert new.id == f"{day.mo_a}-NEW" and new.qty == 3 and new.revision == 1
    odoo_call(emulator, "mrp.production", "action_cancel", [[ids[day.mo_b]]])
    cancelled = got.get(timeout=10)
    assert cancelled.id == day.mo_b and cancelled.state == "cancel" and cancelled.revision == 2
    call.cancel()
    names = wait_for(lambda: sorted(o.id for o in stub.List(wo.WorkOrderFilter(), timeout=5).work_orders))
    assert names == sorted([day.mo_a, f"{day.mo_a}-NEW"])


def test_list_is_empty_without_odoo(server_factory):
    srv = server_factory()
    wo = stubs().work_orders_pb2
    stub = stubs().work_orders_pb2_grpc.WorkOrdersStub(srv.channel())
    assert list(stub.List(wo.WorkOrderFilter(), timeout=5).work_orders) == []


def test_released_orders_are_stored_and_served_after_a_restart_while_odoo_is_down(server_factory, emulator):
    day = PlantDay()
    day.seed(emulator)
    srv = server_factory(gateway_args(emulator, odoo_release_poll_ms=200))
    wait_for(lambda: srv.query("SELECT count(*) FROM work_orders")[0][0] == 2)
    assert sorted(srv.query("SELECT name, state, revision FROM work_orders")) == [
        (day.mo_a, "confirmed", 1), (day.mo_b, "confirmed", 1)]
    srv.stop()
    emulator.fault("down", times=-1)
    srv2 = server_factory(gateway_args(emulator, odoo_release_poll_ms=200), data=srv.data)
    wo = stubs().work_orders_pb2
    listed = stubs().work_orders_pb2_grpc.WorkOrdersStub(srv2.channel()).List(wo.WorkOrderFilter(), timeout=5)
    assert sorted((o.id, o.revision, len(o.components)) for o in listed.work_orders) == [
        (day.mo_a, 1, 2), (day.mo_b, 1, 1)]
