"""In-memory Odoo models for the emulator: records, domains, x2many commands, and the business
rules (constraints, wizards) of the few models mesgate posts to. Odoo's behaviour is taken from
odoo/odoo 17.0-19.0 (see /work/shared/DESIGN.md, "Odoo: facts for the posting service").

Everything here runs under the server's lock; nothing here does I/O."""

from __future__ import annotations

import copy
import datetime
import itertools
import re


class OdooError(Exception):
    """An exception as Odoo raises it: `name` is the dotted Python class name Odoo reports."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message


def validation(msg):
    return OdooError("odoo.exceptions.ValidationError", msg)


def user_error(msg):
    return OdooError("odoo.exceptions.UserError", msg)


def missing(model, ids):
    return OdooError(
        "odoo.exceptions.MissingError",
        f"Record does not exist or has been deleted.\n(Record: {model}({', '.join(map(str, ids))},), User: 2)",
    )


# Fields per model: name -> kind ("char", "float", "bool", "int", "m2o:<model>", "o2m:<model>:<inverse>",
# "m2m:<model>", "selection", "datetime"). Fields that differ by version are adjusted in `fields_for`.
FIELDS = {
    "res.company": {"name": "char"},
    # Units of measure: 17 and 18 group units in categories (a unit's `factor` is how many of it make
    # the category's reference unit); 19 dropped uom.category: a unit is defined against another
    # (`relative_uom_id`, `relative_factor`) and `factor` is its stored absolute quantity, so units
    # convert when they share a root (see `fields_for`).
    "uom.category": {"name": "char", "write_date": "datetime"},
    "uom.uom": {
        "name": "char", "category_id": "m2o:uom.category", "factor": "float", "uom_type": "selection",
        "rounding": "float", "relative_uom_id": "m2o:uom.uom", "relative_factor": "float", "active": "bool",
        "write_date": "datetime",
    },
    "product.template": {
        "name": "char", "default_code": "char", "tracking": "selection", "uom_id": "m2o:uom.uom",
        "product_variant_ids": "o2m:product.product:product_tmpl_id", "write_date": "datetime",
    },
    "product.product": {
        "name": "char", "default_code": "char", "tracking": "selection", "qty_available": "float",
        "uom_id": "m2o:uom.uom", "product_tmpl_id": "m2o:product.template", "write_date": "datetime",
    },
    "stock.lot": {
        "name": "char", "product_id": "m2o:product.product", "company_id": "m2o:res.company", "note": "char",
        "message_ids": "o2m:mail.message:res_id",
    },
    "mrp.workcenter": {"name": "char", "code": "char", "write_date": "datetime"},
    # Bills of materials (mrp): lines and operations (the routing lives in the BoM since 14).
    "mrp.bom": {
        "product_tmpl_id": "m2o:product.template", "product_id": "m2o:product.product", "product_qty": "float",
        "product_uom_id": "m2o:uom.uom", "code": "char", "type": "selection", "active": "bool", "sequence": "int",
        "bom_line_ids": "o2m:mrp.bom.line:bom_id", "operation_ids": "o2m:mrp.routing.workcenter:bom_id",
        "write_date": "datetime",
    },
    "mrp.bom.line": {
        "bom_id": "m2o:mrp.bom", "product_id": "m2o:product.product", "product_qty": "float",
        "product_uom_id": "m2o:uom.uom", "operation_id": "m2o:mrp.routing.workcenter", "sequence": "int",
        "write_date": "datetime",
    },
    "mrp.routing.workcenter": {
        "bom_id": "m2o:mrp.bom", "name": "char", "workcenter_id": "m2o:mrp.workcenter",
        "time_cycle_manual": "float", "sequence": "int", "write_date": "datetime",
    },
    "mrp.workcenter.productivity.loss": {"name": "char", "loss_type": "selection"},
    "mrp.workcenter.productivity": {
        "workcenter_id": "m2o:mrp.workcenter", "loss_id": "m2o:mrp.workcenter.productivity.loss",
        "date_start": "datetime", "date_end": "datetime", "description": "char",
        "production_id": "m2o:mrp.production",
    },
    "mrp.production": {
        "name": "char", "product_id": "m2o:product.product", "product_qty": "float", "qty_producing": "float",
        "state": "selection", "origin": "char", "date_start": "datetime", "write_date": "datetime",
        "lot_producing_id": "m2o:stock.lot", "lot_producing_ids": "m2m:stock.lot", "company_id": "m2o:res.company",
        "move_raw_ids": "o2m:stock.move:raw_material_production_id",
        "workorder_ids": "o2m:mrp.workorder:production_id", "product_tracking": "selection",
        "backorder_sequence": "int", "procurement_group_id": "int", "bom_id": "m2o:mrp.bom",
    },
    "mrp.workorder": {
        "name": "char", "production_id": "m2o:mrp.production", "workcenter_id": "m2o:mrp.workcenter",
        "duration_expected": "float", "sequence": "int", "state": "selection",
    },
    "stock.move": {
        "product_id": "m2o:product.product", "product_uom_qty": "float", "quantity": "float", "picked": "bool",
        "raw_material_production_id": "m2o:mrp.production", "move_line_ids": "o2m:stock.move.line:move_id",
        "state": "selection", "has_tracking": "selection",
    },
    "stock.move.line": {
        "move_id": "m2o:stock.move", "product_id": "m2o:product.product", "lot_id": "m2o:stock.lot",
        "quantity": "float", "picked": "bool",
    },
    "stock.scrap": {
        "name": "char", "product_id": "m2o:product.product", "lot_id": "m2o:stock.lot", "scrap_qty": "float",
        "production_id": "m2o:mrp.production", "origin": "char", "state": "selection",
    },
    "stock.warn.insufficient.qty.scrap": {"scrap_id": "m2o:stock.scrap", "product_id": "m2o:product.product"},
    # The split wizard (17+): `counter` pieces, their quantities in the detail lines (computed
    # equal from `counter` unless given), `action_split` runs `mrp.production._split_productions`.
    "mrp.production.split": {
        "production_id": "m2o:mrp.production", "counter": "int",
        "production_detailed_vals_ids": "o2m:mrp.production.split.line:mrp_production_split_id",
    },
    "mrp.production.split.line": {"mrp_production_split_id": "m2o:mrp.production.split", "quantity": "float"},
    "mail.message": {"model": "char", "res_id": "int", "body": "char", "message_type": "char"},
    "ir.model.data": {"module": "char", "name": "char", "model": "char", "res_id": "int"},
    # Activities (mail): a record's to-dos, shown in its chatter; `res_model` is related to
    # `res_model_id.model` (stored, read-only); done through `action_feedback`.
    "ir.model": {"model": "char", "name": "char"},
    "mail.activity.type": {"name": "char", "keep_done": "bool"},
    "mail.activity": {
        "res_model_id": "m2o:ir.model", "res_model": "char", "res_id": "int", "activity_type_id":
        "m2o:mail.activity.type", "summary": "char", "note": "char", "date_deadline": "char", "user_id": "int",
        "active": "bool",
    },
}

COMPUTED = {"write_date", "has_tracking", "product_tracking"}
# Models whose records have an `active` flag: a search leaves archived ones out unless the domain
# names `active` (Odoo's active_test).
ACTIVE_TEST = {"mail.activity", "mrp.bom"}

# The units Odoo's uom module installs (uom_data.xml), as (name, 17/18 category, 17/18 uom_type,
# 17/18 factor, 19 reference unit, 19 relative_factor).
STANDARD_UOMS = [
    ("Units", "Unit", "reference", 1.0, None, 1.0),
    ("Dozens", "Unit", "bigger", 1 / 12, "Units", 12.0),
    ("kg", "Weight", "reference", 1.0, None, 1.0),
    ("g", "Weight", "smaller", 1000.0, "kg", 0.001),
    ("t", "Weight", "bigger", 0.001, "kg", 1000.0),
    ("m", "Length / Distance", "reference", 1.0, None, 1.0),
    ("mm", "Length / Distance", "smaller", 1000.0, "m", 0.001),
    ("L", "Volume", "reference", 1.0, None, 1.0),
    ("Hours", "Working Time", "reference", 1.0, None, 1.0),
]


def fields_for(model: str, version: int) -> dict:
    fields = dict(FIELDS[model])
    if model == "uom.uom":
        for name in (("category_id", "uom_type") if version >= 19 else ("relative_uom_id", "relative_factor")):
            fields.pop(name)
    if model == "mrp.production":
        if version >= 19:
            fields.pop("lot_producing_id")
        else:
            fields.pop("lot_producing_ids")
    return fields


def now_str() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class Database:
    """All records of one emulated Odoo database."""

    def __init__(self, version: int):
        self.version = version
        self.records: dict[str, dict[int, dict]] = {m: {} for m in FIELDS}
        self.ids = itertools.count(1)
        self.mo_seq = itertools.count(1)
        self.records["res.company"][1] = {"id": 1, "name": "Plant Co"}
        self.seed_uoms()
        for model in ("stock.lot", "mrp.production", "product.product"):
            self.create("ir.model", {"model": model, "name": model})
        todo = self.create("mail.activity.type", {"name": "To-Do", "keep_done": False})
        self.create("ir.model.data", {"module": "mail", "name": "mail_activity_data_todo",
                                      "model": "mail.activity.type", "res_id": todo})

    def seed_uoms(self) -> None:
        """The standard units, as each version keeps them."""
        categories = {}
        for name, category, uom_type, factor, reference, relative in STANDARD_UOMS:
            if self.version >= 19:
                parent = self.uom_id(reference) if reference else False
                absolute = relative * (self.records["uom.uom"][parent]["factor"] if parent else 1.0)
                self.create("uom.uom", {"name": name, "relative_uom_id": parent, "relative_factor": relative,
                                        "factor": absolute, "rounding": 0.01, "active": True})
            else:
                if category not in categories:
                    categories[category] = self.create("uom.category", {"name": category})
                self.create("uom.uom", {"name": name, "category_id": categories[category], "uom_type": uom_type,
                                        "factor": factor, "rounding": 0.01, "active": True})

    def uom_id(self, name: str | None) -> int:
        """The id of the unit called `name` (Units when None)."""
        for rid, rec in self.records["uom.uom"].items():
            if rec.get("name") == (name or "Units"):
                return rid
        raise validation(f"No unit of measure named {name!r}")

    # ------------------------------------------------------------------ generic ORM

    def _model(self, model: str) -> dict[int, dict]:
        if model not in self.records:
            raise OdooError("builtins.KeyError", f"'{model}'")
        return self.records[model]

    def _check_fields(self, model: str, vals: dict) -> None:
        fields = fields_for(model, self.version)
        for k in vals:
            if k not in fields:
                raise OdooError("builtins.ValueError", f"Invalid field '{k}' on model '{model}'")

    def browse(self, model: str, ids) -> list[dict]:
        table = self._model(model)
        missing_ids = [i for i in ids if i not in table]
        if missing_ids:
            raise missing(model, missing_ids)
        return [table[i] for i in ids]

    def display_name(self, model: str, rid: int) -> str:
        rec = self.records[model].get(rid, {})
        if model == "mrp.bom":  # mrp.bom._compute_display_name: "<reference>: <product>"
            product = self.display_name("product.template", rec.get("product_tmpl_id"))
            return f"{rec['code']}: {product}" if rec.get("code") else product
        return rec.get("name") or rec.get("description") or f"{model},{rid}"

    def value_out(self, model: str, rec: dict, field: str):
        kind = fields_for(model, self.version)[field]
        v = self.computed(model, rec, field) if field in COMPUTED else rec.get(field)
        if kind.startswith("m2o:"):
            target = kind.split(":")[1]
            return [v, self.display_name(target, v)] if v else False
        if kind.startswith("o2m:"):
            _, target, inverse = kind.split(":")
            if model == "stock.lot" and field == "message_ids":
                return sorted(i for i, r in self.records["mail.message"].items()
                              if r.get("model") == "stock.lot" and r.get("res_id") == rec["id"])
            return sorted(i for i, r in self.records[target].items() if r.get(inverse) == rec["id"])
        if kind.startswith("m2m:"):
            return list(v or [])
        if v is None:
            if model == "product.product" and field == "qty_available":
                return 1e12  # not seeded: as much as any order needs (the scrap check's convention too)
            return 0.0 if kind == "float" else (0 if kind == "int" else False)
        return v

    def computed(self, model: str, rec: dict, field: str):
        if field == "write_date":
            return rec.get("write_date") or now_str()
        if field == "has_tracking":
            return self.records["product.product"].get(rec.get("product_id"), {}).get("tracking", "none")
        if field == "product_tracking":
            return self.records["product.product"].get(rec.get("product_id"), {}).get("tracking", "none")
        return None

    def read(self, model: str, ids, fields=None) -> list[dict]:
        all_fields = fields_for(model, self.version)
        fields = fields or list(all_fields)
        for f in fields:
            if f not in all_fields and f != "id":
                raise OdooError("builtins.ValueError", f"Invalid field '{f}' on model '{model}'")
        out = []
        for rec in self.browse(model, ids):
            row = {"id": rec["id"]}
            for f in fields:
                if f != "id":
                    row[f] = self.value_out(model, rec, f)
            out.append(row)
        return out

    def matches(self, model: str, rec: dict, domain: list) -> bool:
        stack = []
        for term in reversed(domain or []):
            if term in ("&", "|", "!"):
                if term == "!":
                    stack.append(not stack.pop())
                else:
                    a, b = stack.pop(), stack.pop()
                    stack.append((a and b) if term == "&" else (a or b))
            else:
                stack.append(self._leaf(model, rec, term))
        return all(stack)

    def _leaf(self, model: str, rec: dict, term) -> bool:
        field, op, value = term
        if field == "id":
            v = rec["id"]
        else:
            if field not in fields_for(model, self.version):
                raise OdooError("builtins.ValueError", f"Invalid field {model}.{field} in leaf {tuple(term)}")
            v = self.computed(model, rec, field) if field in COMPUTED else rec.get(field)
            if isinstance(v, list):  # m2m: any
                return any(self._compare(x, op, value) for x in v) if v else self._compare(False, op, value)
        return self._compare(v, op, value)

    @staticmethod
    def _compare(v, op, value) -> bool:
        if v is None:
            v = False
        if op in ("=", "=="):
            return v == value or (value is False and not v)
        if op == "!=":
            return not (v == value or (value is False and not v))
        if op == "in":
            return v in value
        if op == "not in":
            return v not in value
        if op in ("like", "ilike"):
            return isinstance(v, str) and str(value).lower() in v.lower()
        if op in ("=like", "=ilike"):  # SQL LIKE: % any run, _ one character; =ilike ignores case
            pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(value))
            return isinstance(v, str) and re.fullmatch(pattern, v, re.IGNORECASE if op == "=ilike" else 0) is not None
        if op in (">", ">=", "<", "<="):
            if v is False:
                return False
            return {">": v > value, ">=": v >= value, "<": v < value, "<=": v <= value}[op]
        raise OdooError("builtins.ValueError", f"Invalid leaf operator {op!r}")

    def search(self, model: str, domain, limit=None, order=None, offset=0) -> list[int]:
        table = self._model(model)
        if model in ACTIVE_TEST and not any(isinstance(t, (list, tuple)) and t[0] == "active" for t in domain or []):
            domain = [*(domain or []), ["active", "=", True]]
        ids = [i for i, rec in sorted(table.items()) if self.matches(model, rec, domain)]
        if order and order.split()[0] != "id":
            key = order.split()[0]
            ids.sort(key=lambda i: (table[i].get(key) or ""), reverse="desc" in order.lower())
        elif order and "desc" in order.lower():
            ids.reverse()
        ids = ids[offset or 0:]
        return ids[:limit] if limit else ids

    def create(self, model: str, vals: dict) -> int:
        self._check_fields(model, vals)
        fields = fields_for(model, self.version)
        rid = next(self.ids)
        rec = {"id": rid}
        x2many = {}
        for k, v in vals.items():
            if fields[k].startswith("o2m:") or fields[k].startswith("m2m:"):
                x2many[k] = v
            else:
                rec[k] = v
        rec["write_date"] = now_str()
        self.before_create(model, rec)
        self.records[model][rid] = rec
        for k, v in x2many.items():
            self.apply_x2many(model, rec, k, v)
        if model == "mrp.production.split":
            self.split_compute(rec)
        self.check(model, rec)
        return rid

    def write(self, model: str, ids, vals: dict) -> bool:
        self._check_fields(model, vals)
        fields = fields_for(model, self.version)
        for rec in self.browse(model, ids):
            self.before_write(model, rec, vals)
            for k, v in vals.items():
                if fields[k].startswith("o2m:") or fields[k].startswith("m2m:"):
                    self.apply_x2many(model, rec, k, v)
                else:
                    rec[k] = v
            rec["write_date"] = now_str()
            self.check(model, rec)
        return True

    def apply_x2many(self, model: str, rec: dict, field: str, commands) -> None:
        kind = fields_for(model, self.version)[field]
        if kind.startswith("m2m:"):
            current = list(rec.get(field) or [])
            for cmd in commands:
                if cmd[0] == 6:
                    current = list(cmd[2])
                elif cmd[0] == 4:
                    current.append(cmd[1])
                elif cmd[0] in (3, 2):
                    current = [i for i in current if i != cmd[1]]
                elif cmd[0] == 5:
                    current = []
            rec[field] = current
            return
        _, target, inverse = kind.split(":")
        for cmd in commands:
            op = cmd[0]
            if op == 0:
                self.create(target, {**cmd[2], inverse: rec["id"]})
            elif op == 1:
                self.write(target, [cmd[1]], cmd[2])
            elif op in (2, 3):
                self.records[target].pop(cmd[1], None)
            elif op == 5:
                for i in [i for i, r in self.records[target].items() if r.get(inverse) == rec["id"]]:
                    del self.records[target][i]
            elif op == 6:
                for i in [i for i, r in self.records[target].items() if r.get(inverse) == rec["id"]]:
                    if i not in cmd[2]:
                        del self.records[target][i]
            elif op == 4:
                self.records[target][cmd[1]][inverse] = rec["id"]

    # ------------------------------------------------------------------ business rules

    def before_create(self, model: str, rec: dict) -> None:
        if model == "stock.scrap":
            rec.setdefault("state", "draft")
            rec.setdefault("name", f"SP/{rec['id']:05d}")
        if model == "stock.move.line" and rec.get("move_id"):
            move = self.records["stock.move"].get(rec["move_id"])
            if move:
                rec.setdefault("product_id", move.get("product_id"))
        if model in ("mrp.production", "stock.lot"):
            # Odoo's default: the company the caller works in (the API user's: company 1 here).
            rec.setdefault("company_id", 1)
        if model == "mrp.bom":
            rec.setdefault("active", True)
            rec.setdefault("type", "normal")
            rec.setdefault("sequence", 0)
            rec.setdefault("product_qty", 1.0)
            if not rec.get("product_tmpl_id") and rec.get("product_id"):
                rec["product_tmpl_id"] = self.records["product.product"][rec["product_id"]].get("product_tmpl_id")
            if not rec.get("product_tmpl_id"):
                raise validation("The operation cannot be completed:\n- Create/update: a mandatory field is not "
                                 "set.\n\nModel: Bill of Material (mrp.bom)\nField: Product (product_tmpl_id)")
            rec.setdefault("product_uom_id", self._template_uom(rec["product_tmpl_id"]))
        if model == "mrp.bom.line":
            rec.setdefault("product_qty", 1.0)
            if not rec.get("product_uom_id") and rec.get("product_id"):
                rec["product_uom_id"] = self.records["product.product"][rec["product_id"]].get("uom_id")
        if model in ("product.product", "product.template"):
            rec.setdefault("uom_id", self.uom_id(None))
        if model == "mrp.production":
            rec.setdefault("state", "draft")
            rec.setdefault("qty_producing", 0.0)
        if model == "mail.activity":
            # res_model is related to res_model_id.model (stored, read-only): what create gives is ignored.
            target = self.records["ir.model"].get(rec.get("res_model_id"))
            if not target:
                raise validation("The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n"
                                 "- Delete: another model requires the record being deleted. If possible, archive "
                                 "it instead.\n\nModel: Activity (mail.activity)\nField: Document Model "
                                 "(res_model_id)")
            rec["res_model"] = target["model"]
            if not rec.get("res_id") or target["model"] not in self.records \
                    or rec["res_id"] not in self.records[target["model"]]:
                raise missing(target["model"], [rec.get("res_id") or 0])
            rec.setdefault("active", True)
            rec.setdefault("user_id", 2)

    def _template_uom(self, template_id) -> int:
        return self.records["product.template"].get(template_id, {}).get("uom_id") or self.uom_id(None)

    def before_write(self, model: str, rec: dict, vals: dict) -> None:
        if model == "mrp.production" and rec.get("state") in ("done", "cancel"):
            changed = set(vals) - {"origin"}
            if changed:
                raise user_error(f"You cannot modify a {rec['state']} manufacturing order ({rec['name']}).")

    def check(self, model: str, rec: dict) -> None:
        if model == "stock.lot":
            for other in self.records["stock.lot"].values():
                if other is not rec and other.get("name") == rec.get("name") \
                        and other.get("product_id") == rec.get("product_id") \
                        and other.get("company_id") == rec.get("company_id"):
                    raise validation(
                        "The combination of serial number and product must be unique across a company.\n"
                        f"Following combination contains duplicates:\n - Product: "
                        f"{self.display_name('product.product', rec.get('product_id'))}, "
                        f"Serial Number: {rec.get('name')}")
        if model == "stock.move.line":
            if (rec.get("quantity") or 0) < 0:
                raise validation("It is not possible to use a negative quantity on a move line.")
            lot = self.records["stock.lot"].get(rec.get("lot_id"))
            if lot and lot.get("product_id") != rec.get("product_id"):
                raise validation(
                    f"This lot {lot['name']} is incompatible with this product "
                    f"{self.display_name('product.product', rec.get('product_id'))}")
        if model == "stock.scrap" and (rec.get("scrap_qty") or 0) <= 0:
            raise validation("You can only enter positive quantities.")
        if model == "mrp.production" and (rec.get("qty_producing") or 0) < 0:
            raise validation("The quantity to produce must be positive!")

    def call_method(self, model: str, method: str, ids: list, kwargs: dict, context: dict):
        if model == "mrp.production" and method == "button_mark_done":
            return self.mark_done(ids, context)
        if model == "mrp.production" and method == "action_confirm":
            for rec in self.browse(model, ids):
                rec["state"] = "confirmed"
                rec["write_date"] = now_str()
            return True
        if model == "mrp.production" and method == "action_cancel":
            for rec in self.browse(model, ids):
                rec["state"] = "cancel"
                rec["write_date"] = now_str()
            return True
        if model == "stock.scrap" and method == "action_validate":
            return self.scrap_validate(ids, context)
        if model == "stock.warn.insufficient.qty.scrap" and method == "action_done":
            for wiz in self.browse(model, ids):
                self.do_scrap(self.records["stock.scrap"][wiz["scrap_id"]])
            return True
        if model == "stock.lot" and method == "message_post":
            body = kwargs.get("body", "")
            out = None
            for rec in self.browse(model, ids):
                out = self.create("mail.message", {"model": model, "res_id": rec["id"], "body": body,
                                                   "message_type": kwargs.get("message_type", "comment")})
            return out
        if model == "mrp.production.split" and method == "action_split":
            return self.split(ids)
        if model == "mail.activity" and method == "action_feedback":
            return self.activity_feedback(ids, kwargs.get("feedback") or "")
        raise OdooError("builtins.AttributeError", f"The method '{model}.{method}' does not exist")

    def activity_feedback(self, ids, feedback: str):
        """mail.activity.action_feedback: logs "<type> done" with the feedback on the document, then
        the activity goes: unlinked, or archived from 18 on when its type keeps done activities."""
        message = False
        for act in self.browse("mail.activity", ids):
            kind = self.records["mail.activity.type"].get(act.get("activity_type_id"), {})
            body = f"{kind.get('name', 'Activity')} done: {act.get('summary') or ''}"
            if feedback:
                body += f"\nFeedback: {feedback}"
            message = self.create("mail.message", {"model": act["res_model"], "res_id": act["res_id"], "body": body,
                                                   "message_type": "notification"})
            if self.version >= 18 and kind.get("keep_done"):
                act["active"] = False
            else:
                del self.records["mail.activity"][act["id"]]
        return message

    def _lots_producing(self, mo: dict) -> list[int]:
        if self.version >= 19:
            return list(mo.get("lot_producing_ids") or [])
        return [mo["lot_producing_id"]] if mo.get("lot_producing_id") else []

    def mark_done(self, ids, context):
        for mo in self.browse("mrp.production", ids):
            if mo.get("state") == "done":
                continue
            if mo.get("state") not in ("confirmed", "progress", "to_close"):
                raise user_error(f"The manufacturing order {mo['name']} must be confirmed before it is done.")
            product = self.records["product.product"][mo["product_id"]]
            qty = mo.get("qty_producing") or 0
            if qty <= 0:
                raise user_error("The quantity to produce must be positive!")
            lots = self._lots_producing(mo)
            if product.get("tracking", "none") != "none" and not lots:
                raise user_error(f"You need to supply a Lot/Serial number for products {product['name']}.")
            if product.get("tracking") == "serial":
                for lot_id in lots:
                    for other in self.records["mrp.production"].values():
                        if other is not mo and other.get("state") == "done" and lot_id in self._lots_producing(other):
                            raise user_error(
                                f"This serial number for product {product['name']} has already been produced")
            moves = [m for m in self.records["stock.move"].values() if m.get("raw_material_production_id") == mo["id"]]
            for move in moves:
                comp = self.records["product.product"][move["product_id"]]
                lines = [ml for ml in self.records["stock.move.line"].values() if ml.get("move_id") == move["id"]]
                if comp.get("tracking", "none") != "none":
                    for ml in lines:
                        if (ml.get("quantity") or 0) > 0 and not ml.get("lot_id"):
                            raise user_error(f"You need to supply a Lot/Serial number for products {comp['name']}.")
            if qty < (mo.get("product_qty") or 0) and not context.get("skip_backorder") \
                    and "mo_ids_to_backorder" not in context:
                return {
                    "name": "You produced less than initially planned", "type": "ir.actions.act_window",
                    "res_model": "mrp.production.backorder", "view_mode": "form", "target": "new",
                    "context": {"default_mrp_production_ids": [mo["id"]], "default_mrp_production_backorder_line_ids": [
                        [0, 0, {"mrp_production_id": mo["id"], "to_backorder": True}]]},
                }
            for move in moves:
                lines = [ml for ml in self.records["stock.move.line"].values() if ml.get("move_id") == move["id"]]
                picked = [ml for ml in lines if ml.get("picked")]
                move["quantity"] = sum(ml.get("quantity") or 0 for ml in picked)
                move["state"] = "done" if picked else "cancel"
                move["picked"] = bool(picked)
            remaining = (mo.get("product_qty") or 0) - qty
            if remaining > 0 and mo["id"] in (context.get("mo_ids_to_backorder") or []):
                self._backorders(mo, [remaining])
                mo["product_qty"] = qty
            mo["state"] = "done"
            mo["write_date"] = now_str()
        return True

    def _family(self, mo: dict) -> list[dict]:
        """The order and its backorders and splits (Odoo: one procurement group), by sequence."""
        base = self._base_name(mo)
        return sorted((r for r in self.records["mrp.production"].values() if self._base_name(r) == base),
                      key=lambda r: r.get("backorder_sequence") or 0)

    @staticmethod
    def _base_name(mo: dict) -> str:
        name = mo.get("name") or ""
        return name[:-4] if (mo.get("backorder_sequence") or 0) > 0 and name[-4:-3] == "-" else name

    def _backorders(self, mo: dict, amounts: list[float]) -> list[int]:
        """mrp.production._generate_backorder_productions / _split_productions: the first backorder
        renames the original `<name>-001` (backorder_sequence 1); each new order is `<name>-00N` for
        `amounts[i]`, with the raw moves and operations scaled from the original's."""
        base = self._base_name(mo)
        if not mo.get("backorder_sequence"):
            mo["backorder_sequence"] = 1
            mo["name"] = f"{base}-001"
        seq = max((r.get("backorder_sequence") or 0) for r in self._family(mo))
        planned = mo.get("product_qty") or 1.0
        made = []
        for amount in amounts:
            seq += 1
            raw = []
            for move in [m for m in self.records["stock.move"].values() if m.get("raw_material_production_id") == mo["id"]]:
                raw.append([0, 0, {"product_id": move["product_id"], "quantity": 0.0, "picked": False,
                                   "product_uom_qty": (move.get("product_uom_qty") or 0) * amount / planned,
                                   "state": "confirmed"}])
            wos = [[0, 0, {k: w.get(k) for k in ("name", "workcenter_id", "sequence", "duration_expected")}
                    | {"state": "ready"}]
                   for w in self.records["mrp.workorder"].values() if w.get("production_id") == mo["id"]]
            made.append(self.create("mrp.production", {
                "name": f"{base}-{seq:03d}", "product_id": mo["product_id"], "product_qty": amount,
                "state": "confirmed", "origin": mo.get("origin", ""), "date_start": mo.get("date_start"),
                "backorder_sequence": seq, "move_raw_ids": raw, "workorder_ids": wos}))
        return made

    def split_compute(self, wizard: dict) -> None:
        """mrp.production.split._compute_details: `counter` equal pieces (the rest on the last)."""
        if any(r.get("mrp_production_split_id") == wizard["id"]
               for r in self.records["mrp.production.split.line"].values()):
            return
        mo = self.records["mrp.production"].get(wizard.get("production_id"), {})
        counter = wizard.get("counter") or 0
        qty = mo.get("product_qty") or 0
        if counter < 1:
            return
        piece = round(qty / counter, 2)
        for i in range(counter):
            amount = piece if i < counter - 1 else round(qty - piece * (counter - 1), 2)
            self.create("mrp.production.split.line", {"mrp_production_split_id": wizard["id"], "quantity": amount})

    def split(self, ids) -> bool:
        """mrp.production.split.action_split."""
        for wizard in self.browse("mrp.production.split", ids):
            mo = self.records["mrp.production"].get(wizard.get("production_id"))
            if not mo:
                raise missing("mrp.production", [wizard.get("production_id") or 0])
            if mo.get("state") in ("done", "cancel"):
                raise user_error(f"You cannot split a manufacturing order that is {mo['state']} ({mo['name']}).")
            amounts = [r["quantity"] for _, r in sorted(self.records["mrp.production.split.line"].items())
                       if r.get("mrp_production_split_id") == wizard["id"]]
            if len(amounts) < 2 or any(a <= 0 for a in amounts) or \
                    abs(sum(amounts) - (mo.get("product_qty") or 0)) > 1e-6:
                raise user_error("The split quantities must be positive and add up to the quantity to produce.")
            planned = mo.get("product_qty") or 1.0
            for move in [m for m in self.records["stock.move"].values() if m.get("raw_material_production_id") == mo["id"]]:
                move["product_uom_qty"] = (move.get("product_uom_qty") or 0) * amounts[0] / planned
            self._backorders(mo, amounts[1:])
            mo["product_qty"] = amounts[0]
            mo["write_date"] = now_str()
        return True

    def scrap_validate(self, ids, context):
        for scrap in self.browse("stock.scrap", ids):
            if scrap.get("state") == "done":
                continue
            product = self.records["product.product"].get(scrap.get("product_id"), {})
            if product.get("tracking", "none") != "none" and not scrap.get("lot_id"):
                raise user_error(f"You need to supply a Lot/Serial number for products {product.get('name')}.")
            if (product.get("qty_available") if product.get("qty_available") is not None else 1e12) < \
                    scrap.get("scrap_qty", 0):
                return {
                    "name": f"Insufficient Quantity: {product.get('name')}", "type": "ir.actions.act_window",
                    "res_model": "stock.warn.insufficient.qty.scrap", "view_mode": "form", "target": "new",
                    "context": {"default_product_id": scrap["product_id"], "default_scrap_id": scrap["id"]},
                }
            self.do_scrap(scrap)
        return True

    def do_scrap(self, scrap: dict) -> None:
        scrap["state"] = "done"
        product = self.records["product.product"].get(scrap.get("product_id"), {})
        if product.get("qty_available") is not None:
            product["qty_available"] -= scrap.get("scrap_qty", 0)

    def snapshot(self) -> dict:
        return {model: {str(k): copy.deepcopy(v) for k, v in table.items()} for model, table in self.records.items()}
