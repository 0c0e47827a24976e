"""The Odoo emulator's HTTP server (Python standard library only).

Speaks what mesgate uses of Odoo, with Odoo's wire formats:
- `GET /web/version` -> {"version_info": [V, 0, 0, "final", 0, ""], "version": "V.0"}
- `POST /jsonrpc` (all versions; deprecated in 19): common.version, common.authenticate,
  common.login, object.execute_kw. Errors come with HTTP 200 and
  {"jsonrpc": "2.0", "id": N, "error": {"code": 200, "message": "Odoo Server Error", "data": {...}}}.
- `POST /json/2/<model>/<method>` (19 only): `Authorization: bearer <key>`, optional
  `X-Odoo-Database`; body {ids, context, ...named args}; errors {name, message, arguments, context,
  debug} with 401/400/422/403/404/500.
- `/emulator/...` control endpoints for tests (never faulted):
  POST /emulator/reset {"version": 17|18|19, "api_key", "login", "db"}
  POST /emulator/seed {"products": [{"default_code", "tracking", "uom" (default Units), "name"}, ...],
                       "workcenters": [name or {"name", "code"}, ...], "losses": [...], "companies": [names],
                       "boms": [{"product", "qty", "uom", "code", "lines": [{"product", "qty", "uom"}],
                                 "operations": [{"name", "work_center", "minutes"}]}],
                       "productions": [... "company": name (default: company 1); bom_id: the product's BoM ...]}
  POST /emulator/fault {"kind": "down"|"slow"|"http500"|"serialization"|"validation"|"auth"|"reset_after_commit",
                        "times": N (-1: until cleared), "seconds": S (slow), "match": "text" (validation: only
                        calls whose arguments contain it), "method": "name" (only that ORM method)}
  POST /emulator/clear_faults, POST /emulator/product {"default_code", ...fields to change},
  POST /emulator/bom {"product", ["find_code"], then what changes: "qty", "uom", "code", "lines", "operations"}
       (one mrp.bom write, lines and operations replaced), POST /emulator/workcenter {"find_name", "name", "code"},
  POST /emulator/unlink {"model", "domain"} (deletes what matches: data an administrator removed)
  GET /emulator/state (every record), GET /emulator/stats (request counts)
"""

from __future__ import annotations

import json
import socket
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from models import Database, OdooError


READ_ONLY = {"search", "search_read", "search_count", "read", "fields_get"}


class Fault:
    def __init__(self, spec: dict):
        self.kind = spec["kind"]
        self.times = int(spec.get("times", -1))
        self.seconds = float(spec.get("seconds", 5))
        self.match = spec.get("match")
        self.method = spec.get("method")
        self.hits = 0

    def applies(self, method: str | None, text: str) -> bool:
        if self.times == 0:
            return False
        if self.method and method != self.method:
            return False
        if self.match and self.match not in text:
            return False
        return True

    def consume(self) -> None:
        self.hits += 1
        if self.times > 0:
            self.times -= 1


class Emulator:
    def __init__(self, version: int = 17, db: str = "plant", login: str = "mesgate", api_key: str = "secret-key"):
        self.lock = threading.RLock()
        self.reset({"version": version, "db": db, "login": login, "api_key": api_key})

    def reset(self, spec: dict) -> None:
        with self.lock:
            self.version = int(spec.get("version", 17))
            self.db_name = spec.get("db", "plant")
            self.login = spec.get("login", "mesgate")
            self.api_key = spec.get("api_key", "secret-key")
            self.db = Database(self.version)
            self.faults: list[Fault] = []
            self.stats = {"requests": 0, "connections": 0, "calls": 0, "by_method": {}, "faults": {}}

    # ------------------------------------------------------------------ seeding

    def seed(self, spec: dict) -> dict:
        d = self.db
        with self.lock:
            out = {"products": {}, "workcenters": {}, "productions": {}, "companies": {}}
            for name in spec.get("companies", []):
                out["companies"][name] = d.create("res.company", {"name": name})
            for p in spec.get("products", []):
                pid = self._product(p["default_code"], p.get("tracking", "none"), p.get("qty_available"),
                                    p.get("uom"), p.get("name"))
                out["products"][p["default_code"]] = pid
            for w in spec.get("workcenters", []):
                # A name (its code too), or {"name": ..., "code": ...} as Odoo keeps them apart.
                w = w if isinstance(w, dict) else {"name": w, "code": w}
                out["workcenters"][w["name"]] = d.create("mrp.workcenter", {"name": w["name"], "code": w.get("code", "")})
            for loss_type, name in spec.get("losses", [["availability", "Equipment Failure"],
                                                     ["performance", "Reduced Speed"],
                                                     ["quality", "Quality Loss"]]):
                d.create("mrp.workcenter.productivity.loss", {"name": name, "loss_type": loss_type})
            out["boms"] = {}
            for bom in spec.get("boms", []):
                out["boms"][bom.get("code") or bom["product"]] = self._bom(bom)
            for mo in spec.get("productions", []):
                product_id = self._product(mo["product"], mo.get("tracking", "none"))
                # mrp.production._compute_bom_id: the product's first BoM (by sequence), unless told.
                boms = d.search("mrp.bom", ["|", ["product_id", "=", product_id], "&", ["product_id", "=", False],
                                            ["product_tmpl_id", "=", d.records["product.product"][product_id]
                                             .get("product_tmpl_id")]], order="sequence")
                bom_id = mo.get("bom_id", boms[0] if boms else False)
                raw = []
                for c in mo.get("components", []):
                    cid = self._product(c["product"], c.get("tracking", "none"))
                    raw.append([0, 0, {"product_id": cid, "product_uom_qty": c.get("qty", 1.0), "quantity": 0.0,
                                       "picked": False, "state": "confirmed"}])
                wos = []
                for i, op in enumerate(mo.get("operations", [])):
                    wc = d.search("mrp.workcenter", [["name", "=", op["work_center"]]])
                    wc_id = wc[0] if wc else d.create("mrp.workcenter", {"name": op["work_center"],
                                                                         "code": op["work_center"]})
                    wos.append([0, 0, {"name": op["name"], "workcenter_id": wc_id, "sequence": (i + 1) * 10,
                                       "duration_expected": op.get("minutes", 0.0), "state": "ready"}])
                mid = d.create("mrp.production", {
                    "name": mo["name"], "product_id": product_id, "product_qty": mo.get("qty", 1.0),
                    "state": mo.get("state", "confirmed"), "origin": mo.get("origin", ""),
                    "date_start": mo.get("date_start", "2026-11-27 06:00:00"),
                    "move_raw_ids": raw, "workorder_ids": wos, "bom_id": bom_id,
                    **({"company_id": d.search("res.company", [["name", "=", mo["company"]]])[0]}
                       if "company" in mo else {})})
                out["productions"][mo["name"]] = mid
            return out

    def _product(self, code: str, tracking: str, qty_available=None, uom=None, name=None) -> int:
        found = self.db.search("product.product", [["default_code", "=", code]])
        if found:
            return found[0]
        uom_id = self.db.uom_id(uom)
        template = self.db.create("product.template", {"name": name or code, "default_code": code,
                                                       "tracking": tracking, "uom_id": uom_id})
        vals = {"name": name or code, "default_code": code, "tracking": tracking, "uom_id": uom_id,
                "product_tmpl_id": template}
        if qty_available is not None:
            vals["qty_available"] = float(qty_available)
        return self.db.create("product.product", vals)

    def _bom_values(self, spec: dict) -> dict:
        """mrp.bom values of a seed or change: lines {product, qty, uom}, operations {name,
        work_center (a name or code), minutes}; products and work centers made when missing."""
        d = self.db
        vals = {}
        for key, field in (("qty", "product_qty"), ("code", "code"), ("sequence", "sequence"), ("active", "active")):
            if key in spec:
                vals[field] = spec[key]
        if "uom" in spec:
            vals["product_uom_id"] = d.uom_id(spec["uom"])
        if "lines" in spec:
            vals["bom_line_ids"] = [[5, 0, 0]] + [
                [0, 0, {"product_id": self._product(line["product"], line.get("tracking", "none")),
                        "product_qty": line.get("qty", 1.0), "sequence": i + 1,
                        **({"product_uom_id": d.uom_id(line["uom"])} if "uom" in line else {})}]
                for i, line in enumerate(spec["lines"])]
        if "operations" in spec:
            ops = []
            for i, op in enumerate(spec["operations"]):
                wc = d.search("mrp.workcenter", ["|", ["code", "=", op["work_center"]], ["name", "=", op["work_center"]]])
                wc_id = wc[0] if wc else d.create("mrp.workcenter", {"name": op["work_center"], "code": op["work_center"]})
                ops.append([0, 0, {"name": op["name"], "workcenter_id": wc_id, "sequence": (i + 1) * 10,
                                   "time_cycle_manual": op.get("minutes", 60.0)}])
            vals["operation_ids"] = [[5, 0, 0]] + ops
        return vals

    def _bom(self, spec: dict) -> int:
        product_id = self._product(spec["product"], spec.get("tracking", "none"))
        template = self.db.records["product.product"][product_id]["product_tmpl_id"]
        return self.db.create("mrp.bom", {"product_tmpl_id": template, "product_id": product_id,
                                          **self._bom_values(spec)})

    def set_bom(self, spec: dict) -> int | None:
        """Changes the BoM of `spec["product"]` (its first, or the one whose reference is `code`)
        the way a user saves the BoM form: one write with the changed fields and x2many commands."""
        with self.lock:
            d = self.db
            products = d.search("product.product", [["default_code", "=", spec["product"]]])
            if not products:
                return None
            domain = [["product_id", "=", products[0]]]
            if spec.get("find_code"):
                domain.append(["code", "=", spec["find_code"]])
            boms = d.search("mrp.bom", domain, order="sequence")
            if not boms:
                return None
            d.write("mrp.bom", boms[:1], self._bom_values({k: v for k, v in spec.items() if k != "product"}))
            return boms[0]

    def set_workcenter(self, spec: dict) -> bool:
        with self.lock:
            ids = self.db.search("mrp.workcenter", [["name", "=", spec["find_name"]]])
            self.db.write("mrp.workcenter", ids, {k: v for k, v in spec.items() if k in ("name", "code")})
            return bool(ids)

    def set_product(self, spec: dict) -> bool:
        with self.lock:
            ids = self.db.search("product.product", [["default_code", "=", spec["default_code"]]])
            vals = {k: v for k, v in spec.items() if k != "default_code"}
            self.db.write("product.product", ids, vals)
            return bool(ids)

    # ------------------------------------------------------------------ faults

    def fault_for(self, method: str | None, text: str, kinds) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.kind in kinds and f.applies(method, text):
                    f.consume()
                    self.stats["faults"][f.kind] = self.stats["faults"].get(f.kind, 0) + 1
                    return f
        return None

    # ------------------------------------------------------------------ ORM dispatch

    def execute(self, model: str, method: str, ids: list | None, args: list, kwargs: dict, raw_text: str):
        """Runs one ORM call in a transaction: on an exception every change is rolled back."""
        context = kwargs.pop("context", None) or {}
        with self.lock:
            self.stats["calls"] += 1
            key = f"{model}.{method}"
            self.stats["by_method"][key] = self.stats["by_method"].get(key, 0) + 1
            if self.fault_for(method, raw_text, ("validation",)):
                raise OdooError("odoo.exceptions.ValidationError",
                                "Injected validation error: the record is not valid (emulator fault).")
            if self.fault_for(method, raw_text, ("serialization",)):
                raise OdooError("psycopg2.errors.SerializationFailure",
                                "could not serialize access due to concurrent update")
            if method in READ_ONLY:
                return self._dispatch(model, method, ids, args, kwargs, context)
            saved = self.db.snapshot_state()
            try:
                return self._dispatch(model, method, ids, args, kwargs, context)
            except Exception:
                self.db.restore_state(saved)
                raise

    def _dispatch(self, model, method, ids, args, kwargs, context):
        d = self.db
        if method == "create":
            vals = args[0] if args else kwargs.get("vals_list", kwargs.get("vals"))
            if isinstance(vals, list):
                return [d.create(model, v) for v in vals]
            return d.create(model, vals)
        if method in ("search", "search_read", "search_count"):
            domain = args[0] if args else kwargs.get("domain", [])
            found = d.search(model, domain, kwargs.get("limit"), kwargs.get("order"), kwargs.get("offset", 0))
            if method == "search_count":
                return len(found)
            if method == "search":
                return found
            return d.read(model, found, kwargs.get("fields"))
        if ids is None:
            ids = args[0] if args else []
            args = args[1:]
        if isinstance(ids, int):
            ids = [ids]
        if method == "read":
            return d.read(model, ids, args[0] if args else kwargs.get("fields"))
        if method == "write":
            return d.write(model, ids, args[0] if args else kwargs["vals"])
        if method == "unlink":
            d.browse(model, ids)
            for i in ids:
                d.records[model].pop(i, None)
            return True
        return d.call_method(model, method, ids, kwargs, context)


def _patch_database():
    import copy

    def snapshot_state(self):
        return copy.deepcopy(self.records), copy.deepcopy(self.ids)

    def restore_state(self, saved):
        self.records, self.ids = saved

    Database.snapshot_state = snapshot_state
    Database.restore_state = restore_state


_patch_database()


def error_data(e: Exception) -> dict:
    if isinstance(e, OdooError):
        name, message = e.name, e.message
    else:
        name, message = f"builtins.{type(e).__name__}", str(e)
    return {"name": name, "debug": "Traceback (most recent call last):\n  (emulated)\n" + f"{name}: {message}\n",
            "message": message, "arguments": [message], "context": {}}


JSON2_STATUS = {
    "odoo.exceptions.ValidationError": 422, "odoo.exceptions.UserError": 422, "odoo.exceptions.AccessError": 403,
    "odoo.exceptions.MissingError": 404, "builtins.ValueError": 422, "builtins.TypeError": 422,
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answer at once (headers and body are separate writes)
    server_version = "Werkzeug/3.0.1"
    sys_version = "Python/3.12"

    def log_message(self, fmt, *args):  # quiet
        pass

    @property
    def emu(self) -> Emulator:
        return self.server.emulator

    def setup(self):
        super().setup()
        with self.server.emulator.lock:
            self.server.emulator.stats["connections"] += 1

    def send_json(self, status: int, obj, headers=None) -> None:
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def drop(self) -> None:
        """Closes the connection without a response (a crashed proxy, a reset)."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # ------------------------------------------------------------------ routes

    def do_GET(self):
        if self.path.startswith("/emulator/"):
            return self.control("GET", b"")
        if self.pre_faults(None, ""):
            return
        if self.path == "/web/version":
            v = self.emu.version
            return self.send_json(200, {"version_info": [v, 0, 0, "final", 0, ""], "version": f"{v}.0"})
        self.send_json(404, {"error": "not found"})

    def do_POST(self):
        body = self.read_body()
        if self.path.startswith("/emulator/"):
            return self.control("POST", body)
        with self.emu.lock:
            self.emu.stats["requests"] += 1
        text = body.decode("utf-8", "replace")
        if self.path == "/jsonrpc":
            return self.jsonrpc(body, text)
        if self.path.startswith("/json/2/"):
            if self.emu.version < 19:
                return self.send_json(404, {"name": "werkzeug.exceptions.NotFound", "message": "Not Found"})
            return self.json2(body, text)
        self.send_json(404, {"name": "werkzeug.exceptions.NotFound", "message": "Not Found"})

    def pre_faults(self, method, text) -> bool:
        """down / slow / http500: True when the request was answered (or dropped) by a fault."""
        f = self.emu.fault_for(method, text, ("down", "slow", "http500"))
        if f is None:
            return False
        if f.kind == "slow":
            time.sleep(f.seconds)
            return False
        if f.kind == "down":
            self.drop()
            return True
        body = b"<!doctype html><title>500 Internal Server Error</title><h1>Internal Server Error</h1>"
        self.send_response(500)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return True

    def jsonrpc(self, body: bytes, text: str):
        try:
            req = json.loads(body)
            params = req.get("params", {})
            service, method, args = params["service"], params["method"], params.get("args", [])
        except (ValueError, KeyError, AttributeError):
            return self.send_json(400, {"jsonrpc": "2.0", "id": None, "error": {
                "code": 400, "message": "Odoo Session Invalid", "data": error_data(ValueError("bad request"))}})
        rid = req.get("id")
        orm_method = args[4] if service == "object" and len(args) > 4 else method
        if self.pre_faults(orm_method, text):
            return
        try:
            result = self.jsonrpc_call(service, method, args)
        except Exception as e:  # noqa: BLE001 - every error becomes Odoo's error shape
            if not isinstance(e, OdooError):
                traceback.print_exc()
            return self.send_json(200, {"jsonrpc": "2.0", "id": rid, "error": {
                "code": 200, "message": "Odoo Server Error", "data": error_data(e)}})
        if self.emu.fault_for(orm_method, text, ("reset_after_commit",)):
            return self.drop()
        self.send_json(200, {"jsonrpc": "2.0", "id": rid, "result": result})

    def authorized(self, db, uid_or_login, key) -> bool:
        if self.emu.fault_for(None, "", ("auth",)):
            return False
        return db == self.emu.db_name and key == self.emu.api_key and uid_or_login in (2, self.emu.login)

    def jsonrpc_call(self, service, method, args):
        emu = self.emu
        if service == "common" and method == "version":
            v = emu.version
            return {"server_version": f"{v}.0", "server_version_info": [v, 0, 0, "final", 0, ""],
                    "server_serie": f"{v}.0", "protocol_version": 1}
        if service == "common" and method in ("authenticate", "login"):
            db, login, key = args[0], args[1], args[2]
            if db != emu.db_name:
                raise OdooError("psycopg2.OperationalError", f'connection to server failed: database "{db}" does not exist')
            return 2 if self.authorized(db, login, key) else False
        if service == "object" and method == "execute_kw":
            db, uid, key, model, orm_method = args[:5]
            pargs = args[5] if len(args) > 5 else []
            kwargs = dict(args[6]) if len(args) > 6 and args[6] else {}
            if not self.authorized(db, uid, key):
                raise OdooError("odoo.exceptions.AccessDenied", "Access Denied")
            return emu.execute(model, orm_method, None, list(pargs), kwargs, json.dumps(args[5:]))
        raise OdooError("builtins.NameError", f"No such method {service}.{method}")

    def json2(self, body: bytes, text: str):
        parts = self.path.split("?")[0].split("/")
        if len(parts) != 5:
            return self.send_json(404, {"name": "werkzeug.exceptions.NotFound", "message": "Not Found"})
        model, method = parts[3], parts[4]
        if self.pre_faults(method, text):
            return
        auth = self.headers.get("Authorization", "")
        key = auth[7:] if auth.lower().startswith("bearer ") else None
        db = self.headers.get("X-Odoo-Database") or self.emu.db_name
        if key is None or not self.authorized(db, self.emu.login, key):
            return self.send_json(401, {"name": "werkzeug.exceptions.Unauthorized",
                                        "message": "Invalid apikey", "arguments": ["Invalid apikey", 401],
                                        "context": {}, "debug": ""},
                                  headers={"WWW-Authenticate": 'bearer realm="odoo"'})
        try:
            payload = json.loads(body or b"{}")
            if not isinstance(payload, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as e:
            return self.send_json(400, {"name": "werkzeug.exceptions.BadRequest", "message": str(e),
                                        "arguments": [str(e)], "context": {}, "debug": ""})
        ids = payload.pop("ids", None)
        try:
            result = self.emu.execute(model, method, ids, [], payload, text)
        except Exception as e:  # noqa: BLE001
            data = error_data(e)
            return self.send_json(JSON2_STATUS.get(data["name"], 500), data)
        if self.emu.fault_for(method, text, ("reset_after_commit",)):
            return self.drop()
        self.send_json(200, result)

    # ------------------------------------------------------------------ control

    def control(self, verb: str, body: bytes):
        emu = self.emu
        path = self.path.split("?")[0]
        spec = json.loads(body) if body else {}
        if verb == "GET" and path == "/emulator/state":
            with emu.lock:
                return self.send_json(200, {"version": emu.version, "records": emu.db.snapshot()})
        if verb == "GET" and path == "/emulator/stats":
            with emu.lock:
                return self.send_json(200, emu.stats)
        if path == "/emulator/reset":
            emu.reset(spec)
            return self.send_json(200, True)
        if path == "/emulator/seed":
            return self.send_json(200, emu.seed(spec))
        if path == "/emulator/fault":
            with emu.lock:
                emu.faults.append(Fault(spec))
            return self.send_json(200, True)
        if path == "/emulator/clear_faults":
            with emu.lock:
                emu.faults = []
            return self.send_json(200, True)
        if path == "/emulator/product":
            return self.send_json(200, emu.set_product(spec))
        if path == "/emulator/bom":
            return self.send_json(200, emu.set_bom(spec))
        if path == "/emulator/workcenter":
            return self.send_json(200, emu.set_workcenter(spec))
        if path == "/emulator/unlink":  # a record an administrator deleted (data missing in Odoo)
            with emu.lock:
                found = emu.db.search(spec["model"], spec.get("domain", []))
                for i in found:
                    del emu.db.records[spec["model"]][i]
            return self.send_json(200, found)
        self.send_json(404, {"error": f"no control endpoint {path}"})


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, emulator: Emulator):
        super().__init__(address, Handler)
        self.emulator = emulator


def serve(host: str = "127.0.0.1", port: int = 0, version: int = 17, tls=None, **kwargs) -> EmulatorServer:
    """Starts a server on a thread; returns it (`server.server_address[1]` is the port).
    `tls` = (certificate file, key file) serves HTTPS."""
    srv = EmulatorServer((host, port), Emulator(version, **kwargs))
    if tls:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        srv.socket = context.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, name="odoo-emulator", daemon=True).start()
    return srv
