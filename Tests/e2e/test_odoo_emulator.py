"""The Odoo emulator itself, over HTTP, the way Odoo answers: the error shapes of JSON-RPC and
JSON-2, Odoo's validation errors, the version switch and the wizard answers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from odoo_harness import Emulator


@pytest.fixture(params=[17, 19])
def emu(request, tmp_path):
    e = Emulator(request.param, tmp_path / "logs")
    e.seed(products=[{"default_code": "STEEL", "tracking": "lot"}, {"default_code": "BRACKET", "tracking": "lot"},
                     {"default_code": "PUMP", "tracking": "serial"}],
           productions=[{"name": "MO1", "product": "BRACKET", "qty": 10, "tracking": "lot",
                         "components": [{"product": "STEEL", "tracking": "lot", "qty": 8}]},
                        {"name": "MO2", "product": "PUMP", "qty": 1, "tracking": "serial"},
                        {"name": "MO3", "product": "PUMP", "qty": 1, "tracking": "serial"}])
    yield e
    e.stop()


def post(emu, path, body, headers=None):
    req = urllib.request.Request(emu.url + path, json.dumps(body).encode(),
                                 {"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def call(emu, model, method, ids=None, key="secret-key", **named):
    """One ORM call in the protocol of the emulated version; returns (ok, result or error data)."""
    if emu.version >= 19:
        body = dict(named)
        if ids is not None:
            body["ids"] = ids
        status, answer = post(emu, f"/json/2/{model}/{method}", body, {"Authorization": f"bearer {key}"})
        return (status == 200, answer if status == 200 else {**answer, "status": status})
    args = ([ids] if ids is not None else []) + [named.pop(k) for k in ("vals_list", "domain", "vals") if k in named]
    status, answer = post(emu, "/jsonrpc", {"jsonrpc": "2.0", "method": "call", "id": 3, "params": {
        "service": "object", "method": "execute_kw", "args": ["plant", 2, key, model, method, args, named]}})
    assert status == 200
    if "error" in answer:
        assert answer["error"]["code"] == 200 and answer["error"]["message"] == "Odoo Server Error"
        assert set(answer["error"]["data"]) >= {"name", "message", "arguments", "debug"}
        return False, {**answer["error"]["data"], "status": 200}
    return True, answer["result"]


def ids_of(emu, model, domain):
    ok, found = call(emu, model, "search", domain=domain)
    assert ok, found
    return found


def test_version_and_protocols(emu):
    with urllib.request.urlopen(emu.url + "/web/version") as r:
        v = json.loads(r.read())
    assert v["version_info"][0] == emu.version and v["version"] == f"{emu.version}.0"
    status, _ = post(emu, "/json/2/stock.lot/search", {"domain": []}, {"Authorization": "bearer secret-key"})
    assert status == (200 if emu.version >= 19 else 404)


def test_lot_of_another_product_on_a_move_line(emu):
    steel_move = ids_of(emu, "stock.move", [])[0]
    bracket = ids_of(emu, "product.product", [["default_code", "=", "BRACKET"]])[0]
    ok, lot = call(emu, "stock.lot", "create", vals_list=[{"name": "X1", "product_id": bracket}])
    assert ok
    ok, err = call(emu, "stock.move", "write", ids=[steel_move],
                   vals={"move_line_ids": [[0, 0, {"lot_id": lot[0], "quantity": 1, "picked": True}]]})
    assert not ok and err["name"] == "odoo.exceptions.ValidationError" and "incompatible" in err["message"]
    assert err["status"] == (422 if emu.version >= 19 else 200)
    ok, lines = call(emu, "stock.move.line", "search", domain=[])
    assert ok and lines == []  # the failed call changed nothing


def test_serial_reused_and_negative_quantity(emu):
    pump = ids_of(emu, "product.product", [["default_code", "=", "PUMP"]])[0]
    ok, (sn,) = call(emu, "stock.lot", "create", vals_list=[{"name": "SN1", "product_id": pump}])
    ok, err = call(emu, "stock.lot", "create", vals_list=[{"name": "SN1", "product_id": pump}])
    assert not ok and "must be unique" in err["message"]
    field = "lot_producing_ids" if emu.version >= 19 else "lot_producing_id"
    value = [[6, 0, [sn]]] if emu.version >= 19 else sn
    mo2, mo3 = ids_of(emu, "mrp.production", [["name", "in", ["MO2", "MO3"]]])
    for mo in (mo2, mo3):
        ok, _ = call(emu, "mrp.production", "write", ids=[mo], vals={field: value, "qty_producing": 1})
        assert ok
    ok, done = call(emu, "mrp.production", "button_mark_done", ids=[mo2], context={"skip_backorder": True})
    assert ok and done is True
    ok, err = call(emu, "mrp.production", "button_mark_done", ids=[mo3], context={"skip_backorder": True})
    assert not ok and err["name"] == "odoo.exceptions.UserError" and "already been produced" in err["message"]
    ok, err = call(emu, "stock.scrap", "create", vals_list=[{"product_id": pump, "scrap_qty": -1}])
    assert not ok and err["name"] == "odoo.exceptions.ValidationError"


def test_missing_lot_wizard_and_wrong_version_field(emu):
    mo1 = ids_of(emu, "mrp.production", [["name", "=", "MO1"]])[0]
    ok, _ = call(emu, "mrp.production", "write", ids=[mo1], vals={"qty_producing": 4})
    ok, err = call(emu, "mrp.production", "button_mark_done", ids=[mo1])
    assert not ok and "supply a Lot/Serial number for products BRACKET" in err["message"]
    bracket = ids_of(emu, "product.product", [["default_code", "=", "BRACKET"]])[0]
    ok, (lot,) = call(emu, "stock.lot", "create", vals_list=[{"name": "B1", "product_id": bracket}])
    wrong = "lot_producing_id" if emu.version >= 19 else "lot_producing_ids"
    ok, err = call(emu, "mrp.production", "write", ids=[mo1], vals={wrong: lot})
    assert not ok and err["name"] == "builtins.ValueError" and "Invalid field" in err["message"]
    right = {"lot_producing_ids": [[6, 0, [lot]]]} if emu.version >= 19 else {"lot_producing_id": lot}
    ok, _ = call(emu, "mrp.production", "write", ids=[mo1], vals=right)
    ok, wizard = call(emu, "mrp.production", "button_mark_done", ids=[mo1])
    assert ok and wizard["res_model"] == "mrp.production.backorder"  # 4 of 10: Odoo asks about a backorder
    ok, done = call(emu, "mrp.production", "button_mark_done", ids=[mo1], context={"mo_ids_to_backorder": [mo1]})
    assert ok and done is True
    # As Odoo does: the original is renamed MO1-001, the backorder is MO1-002.
    ok, family = call(emu, "mrp.production", "search_read", domain=[["name", "in", ["MO1", "MO1-001", "MO1-002"]]],
                      fields=["name", "product_qty", "qty_producing", "state"])
    assert ok and [(r["name"], r["product_qty"], r["state"]) for r in family] == [
        ("MO1-001", 4, "done"), ("MO1-002", 6, "confirmed")], family


def test_split_an_order_into_several(emu):
    mo1 = ids_of(emu, "mrp.production", [["name", "=", "MO1"]])[0]
    ok, (wizard,) = call(emu, "mrp.production.split", "create", vals_list=[{"production_id": mo1, "counter": 3}])
    ok, lines = call(emu, "mrp.production.split.line", "search_read", domain=[["mrp_production_split_id", "=", wizard]],
                     fields=["quantity"])
    assert [r["quantity"] for r in lines] == [3.33, 3.33, 3.34]
    ok, done = call(emu, "mrp.production.split", "action_split", ids=[wizard])
    assert ok and done is True, done
    ok, family = call(emu, "mrp.production", "search_read", domain=[["name", "ilike", "MO1-"]],
                      fields=["name", "product_qty", "state", "move_raw_ids"])
    assert [(r["name"], r["product_qty"], r["state"]) for r in family] == [
        ("MO1-001", 3.33, "confirmed"), ("MO1-002", 3.33, "confirmed"), ("MO1-003", 3.34, "confirmed")], family
    assert all(len(r["move_raw_ids"]) == len(family[0]["move_raw_ids"]) > 0 for r in family)
    # A split that does not add up is refused, and a done order cannot be split.
    ok, (bad,) = call(emu, "mrp.production.split", "create", vals_list=[{
        "production_id": family[0]["id"], "counter": 2,
        "production_detailed_vals_ids": [[0, 0, {"quantity": 1}], [0, 0, {"quantity": 1}]]}])
    ok, err = call(emu, "mrp.production.split", "action_split", ids=[bad])
    assert not ok and err["name"] == "odoo.exceptions.UserError", err


def test_faults_and_auth(emu):
    ok, err = call(emu, "stock.lot", "search", key="expired", domain=[])
    assert not ok
    if emu.version >= 19:
        assert err["status"] == 401 and err["name"] == "werkzeug.exceptions.Unauthorized"
    else:
        assert err["name"] == "odoo.exceptions.AccessDenied"
    emu.fault("serialization", times=1)
    ok, err = call(emu, "stock.lot", "search", domain=[])
    assert not ok and err["name"] == "psycopg2.errors.SerializationFailure"
    assert err["status"] == (500 if emu.version >= 19 else 200)
    emu.fault("http500", times=1)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(emu.url + "/web/version", timeout=5)
    assert e.value.code == 500
    emu.fault("reset_after_commit", times=1, method="create")
    pump = ids_of(emu, "product.product", [["default_code", "=", "PUMP"]])[0]
    with pytest.raises((ConnectionError, urllib.error.URLError, OSError)):
        call(emu, "stock.lot", "create", vals_list=[{"name": "R1", "product_id": pump}])
    assert ids_of(emu, "stock.lot", [["name", "=", "R1"]])  # committed before the reset
