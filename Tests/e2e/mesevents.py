"""Builders for mes.v1 events: one valid event per body kind, and one invalid case per
validation rule of MESDomain.EventValidator (with the field path the server must name)."""

from __future__ import annotations

import math
import re
import time
import uuid

from conftest import stubs

KINDS = ["received", "consumed", "produced", "operation", "downtime", "quality", "shipped", "scrapped", "packed", "moved"]


def now_ms() -> int:
    return int(time.time() * 1000)


def pb():
    return stubs().events_pb2


def lot(product="", lot="", serial="", container=""):
    return stubs().common_pb2.LotRef(product=product, lot=lot, serial=serial, container=container)


def qty(value, uom="kg"):
    return stubs().common_pb2.Quantity(value=value, uom=uom)


def new_event_id(prefix="ev") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def event(kind: str, event_id: str | None = None, tag: str | None = None, **fields):
    """A valid event of `kind`. Lots are named after `tag` (default: a fresh one) so that
    events of one test refer to each other (a received lot is then consumed, produced, ...)."""
    m = pb()
    t = tag or uuid.uuid4().hex[:12]
    steel = lot("STEEL-S235", f"S-{t}")
    bracket = lot("BRACKET-7", f"B-{t}")
    ts = now_ms()
    e = m.Event(
        event_id=event_id or new_event_id(kind),
        occurred_at_ms=ts,
        tz_offset="+02:00",
        plant="PLANT-1",
        work_center="WC-CUT",
        operator_id="op-17",
        work_order=f"WH/MO/{t}",
    )
    if kind == "received":
        e.received.CopyFrom(m.MaterialReceived(lot=steel, qty=qty(100.0), supplier="Acme Steel",
                                               supplier_lot=f"AS-{t}", purchase_order="P00042", location="WH/Stock"))
    elif kind == "consumed":
        e.consumed.CopyFrom(m.MaterialConsumed(component=steel, qty=qty(12.5), into=bracket))
    elif kind == "produced":
        e.produced.CopyFrom(m.ProductionReported(output=bracket, good=qty(10, "Units"), scrap=qty(1, "Units"),
                                                 location="WH/Stock"))
    elif kind == "operation":
        e.operation.CopyFrom(m.OperationReported(operation="OP10 cut", state=m.OperationReported.STARTED,
                                                 good=qty(0, "Units"), scrap=qty(0, "Units")))
    elif kind == "downtime":
        e.downtime.CopyFrom(m.DowntimeReported(reason="tool change", loss=m.DowntimeReported.AVAILABILITY,
                                               started_at_ms=ts - 60_000, ended_at_ms=ts - 1_000))
    elif kind == "quality":
        e.quality.CopyFrom(m.QualityResult(
            lot=bracket, check="hardness", outcome=m.QualityResult.PASS,
            measurements=[m.QualityResult.Measurement(name="HRC", value=41.5, unit="HRC", lower=38, upper=45)]))
    elif kind == "shipped":
        e.shipped.CopyFrom(m.Shipped(lot=bracket, qty=qty(5, "Units"), customer="Customer A",
                                     delivery="WH/OUT/00007", destination="DE-Berlin"))
    elif kind == "scrapped":
        e.scrapped.CopyFrom(m.Scrapped(lot=steel, qty=qty(0.5), reason="offcut"))
    elif kind == "packed":
        e.packed.CopyFrom(m.Packed(container=lot(container=f"00340123450000{t[:6]}"), contents=[bracket],
                                   action=m.Packed.ADD))
    elif kind == "moved":
        e.moved.CopyFrom(m.Moved(lot=steel, qty=qty(20), from_location="WH/Stock", to_location="WH/Line1",
                                 new_lot=lot("STEEL-S235", f"S-{t}-split")))
    else:
        raise ValueError(kind)
    for k, v in fields.items():
        setattr(e, k, v)
    return e


def body(e):
    return getattr(e, e.WhichOneof("body"))


# --------------------------------------------------------------------------- invalid cases


def _set(path: str, value):
    """A mutation setting a dotted field path (e.g. 'consumed.qty.value') on an event."""
    def mutate(e):
        obj = e
        parts = path.split(".")
        for p in parts[:-1]:
            obj = getattr(obj, p)
        setattr(obj, parts[-1], value)
    return mutate


def _clear(path: str):
    def mutate(e):
        obj = e
        parts = path.split(".")
        for p in parts[:-1]:
            obj = getattr(obj, p)
        obj.ClearField(parts[-1])
    return mutate


def _lotref(path: str, **ref):
    def mutate(e):
        obj = e
        for p in path.split("."):
            obj = getattr(obj, p)
        obj.Clear()
        for k, v in ref.items():
            setattr(obj, k, v)
    return mutate


def _no_body(e):
    e.ClearField(e.WhichOneof("body"))


def _contents(*refs):
    def mutate(e):
        del e.packed.contents[:]
        for r in refs:
            e.packed.contents.add().CopyFrom(lot(**r))
    return mutate


def _measurement(**m):
    def mutate(e):
        e.quality.measurements.add(**{"name": "M2", "value": 1.0, "unit": "mm", "lower": 0.0, "upper": 2.0, **m})
    return mutate


def _ended_before_started(e):
    e.downtime.ended_at_ms = e.downtime.started_at_ms - 1000


def _same_new_lot(e):
    e.moved.new_lot.CopyFrom(e.moved.lot)


DAY_MS = 86_400_000

# (case id, body kind, mutation, field path the server must name)
INVALID_CASES = [
    ("event_id-missing", "received", _set("event_id", ""), "event_id"),
    ("event_id-129-bytes", "received", _set("event_id", "x" * 129), "event_id"),
    ("event_id-multibyte-over-128-bytes", "received", _set("event_id", "é" * 65), "event_id"),
    ("body-missing", "received", _no_body, "body"),
    ("occurred_at-zero", "received", _set("occurred_at_ms", 0), "occurred_at_ms"),
    ("occurred_at-1999", "received", _set("occurred_at_ms", 946_684_799_999), "occurred_at_ms"),
    ("occurred_at-2-days-ahead", "received", lambda e: setattr(e, "occurred_at_ms", now_ms() + 2 * DAY_MS),
     "occurred_at_ms"),
    ("tz_offset-short", "received", _set("tz_offset", "+2:00"), "tz_offset"),
    ("tz_offset-hours-15", "received", _set("tz_offset", "+15:00"), "tz_offset"),
    ("tz_offset-name", "received", _set("tz_offset", "CET"), "tz_offset"),
    ("received.lot-missing", "received", _clear("received.lot"), "received.lot"),
    ("received.lot-product-alone", "received", _lotref("received.lot", product="STEEL"), "received.lot"),
    ("received.lot-lot-without-product", "received", _lotref("received.lot", lot="L1"), "received.lot.product"),
    ("received.lot-container-with-product", "received", _lotref("received.lot", product="P", container="C1"),
     "received.lot"),
    ("received.qty-missing", "received", _clear("received.qty"), "received.qty"),
    ("consumed.component-missing", "consumed", _clear("consumed.component"), "consumed.component"),
    ("consumed.component-serial-without-product", "consumed", _lotref("consumed.component", serial="SN1"),
     "consumed.component.product"),
    ("consumed.qty.value-nan", "consumed", _set("consumed.qty.value", math.nan), "consumed.qty.value"),
    ("consumed.qty.value-inf", "consumed", _set("consumed.qty.value", math.inf), "consumed.qty.value"),
    ("consumed.qty.value-zero", "consumed", _set("consumed.qty.value", 0.0), "consumed.qty.value"),
    ("consumed.qty.value-negative", "consumed", _set("consumed.qty.value", -1.0), "consumed.qty.value"),
    ("consumed.qty.uom-empty", "consumed", _set("consumed.qty.uom", ""), "consumed.qty.uom"),
    ("consumed.into-product-alone", "consumed", _lotref("consumed.into", product="BRACKET"), "consumed.into"),
    ("produced.output-product-alone", "produced", _lotref("produced.output", product="BRACKET"), "produced.output"),
    ("produced.good-zero", "produced", _set("produced.good.value", 0.0), "produced.good.value"),
    ("produced.good-missing", "produced", _clear("produced.good"), "produced.good"),
    ("produced.scrap-negative", "produced", _set("produced.scrap.value", -1.0), "produced.scrap.value"),
    ("produced.scrap-uom-empty", "produced", _set("produced.scrap.uom", ""), "produced.scrap.uom"),
    ("operation.operation-missing", "operation", _set("operation.operation", ""), "operation.operation"),
    ("operation.state-unspecified", "operation", _set("operation.state", 0), "operation.state"),
    ("operation.good-negative", "operation", _set("operation.good.value", -2.0), "operation.good.value"),
    ("operation.scrap-nan", "operation", _set("operation.scrap.value", math.nan), "operation.scrap.value"),
    ("downtime.reason-missing", "downtime", _set("downtime.reason", ""), "downtime.reason"),
    ("downtime.loss-unspecified", "downtime", _set("downtime.loss", 0), "downtime.loss"),
    ("downtime.started_at-zero", "downtime", _set("downtime.started_at_ms", 0), "downtime.started_at_ms"),
    ("downtime.ended-before-started", "downtime", _ended_before_started, "downtime.ended_at_ms"),
    ("quality.lot-product-alone", "quality", _lotref("quality.lot", product="BRACKET"), "quality.lot"),
    ("quality.check-missing", "quality", _set("quality.check", ""), "quality.check"),
    ("quality.outcome-unspecified", "quality", _set("quality.outcome", 0), "quality.outcome"),
    ("quality.measurement-name-missing", "quality", _measurement(name=""), "quality.measurements[1].name"),
    ("quality.measurement-upper-inf", "quality", _measurement(upper=math.inf), "quality.measurements[1].upper"),
    ("shipped.lot-product-alone", "shipped", _lotref("shipped.lot", product="BRACKET"), "shipped.lot"),
    ("shipped.qty-negative", "shipped", _set("shipped.qty.value", -5.0), "shipped.qty.value"),
    ("shipped.customer-missing", "shipped", _set("shipped.customer", ""), "shipped.customer"),
    ("scrapped.lot-missing", "scrapped", _clear("scrapped.lot"), "scrapped.lot"),
    ("scrapped.qty-missing", "scrapped", _clear("scrapped.qty"), "scrapped.qty"),
    ("packed.container-is-a-lot", "packed", _lotref("packed.container", product="P", lot="L"), "packed.container"),
    ("packed.contents-empty", "packed", _contents(), "packed.contents"),
    ("packed.contents-untracked", "packed", _contents({"product": "P", "lot": "L"}, {"product": "BOLT"}),
     "packed.contents[1]"),
    ("packed.action-unspecified", "packed", _set("packed.action", 0), "packed.action"),
    ("moved.lot-missing", "moved", _clear("moved.lot"), "moved.lot"),
    ("moved.qty.uom-empty", "moved", _set("moved.qty.uom", ""), "moved.qty.uom"),
    ("moved.new_lot-same-as-lot", "moved", _same_new_lot, "moved.new_lot"),
    # A NUL (legal UTF-8) in any string is refused, never cut off at it (protobuf-c reads C strings).
    ("event_id-NUL", "received", lambda e: setattr(e, "event_id", e.event_id + "\0nul"), "event_id"),
    ("consumed.component.lot-NUL", "consumed", _set("consumed.component.lot", "L\0X"), "consumed.component.lot"),
    ("plant-NUL", "received", _set("plant", "\0"), "plant"),
    ("packed.contents-NUL", "packed", _contents({"product": "P", "lot": "L"}, {"product": "P", "serial": "S\0"}),
     "packed.contents[1].serial"),
    ("quality.measurement-unit-NUL", "quality", _measurement(unit="m\0m"), "quality.measurements[1].unit"),
    ("downtime.reason-NUL", "downtime", _set("downtime.reason", "jam\0"), "downtime.reason"),
    # Limits (MESDomain.FieldLimits): identifiers 256 bytes, free text 4 KiB, Packed.contents 1,000,
    # QualityResult.measurements 500.
    ("received.lot.lot-257-bytes", "received", _set("received.lot.lot", "x" * 257), "received.lot.lot"),
    ("operator_id-257-bytes", "received", _set("operator_id", "o" * 257), "operator_id"),
    ("consumed.qty.uom-257-bytes", "consumed", _set("consumed.qty.uom", "u" * 257), "consumed.qty.uom"),
    ("downtime.reason-4097-bytes", "downtime", _set("downtime.reason", "r" * 4097), "downtime.reason"),
    ("packed.contents-1001", "packed",
     _contents(*({"product": "P", "serial": f"S{i}"} for i in range(1001))), "packed.contents"),
    ("quality.measurements-501", "quality",
     lambda e: [e.quality.measurements.add(name=f"M{i}", value=1.0) for i in range(500)], "quality.measurements"),
]

# Edge cases the rules allow: each must be ACCEPTED.
VALID_EDGE_CASES = [
    ("consumed.component-untracked", "consumed", _lotref("consumed.component", product="BOLT-M8")),
    ("scrapped.lot-untracked", "scrapped", _lotref("scrapped.lot", product="GLUE-2K")),
    ("consumed.without-into", "consumed", _clear("consumed.into")),
    ("consumed.component-serial", "consumed", _lotref("consumed.component", product="MOTOR", serial="SN-1")),
    ("received.container", "received", _lotref("received.lot", container="003401234500000017")),
    ("tz_offset-empty", "received", _set("tz_offset", "")),
    ("tz_offset-Z", "received", _set("tz_offset", "Z")),
    ("tz_offset-minus-05:30", "received", _set("tz_offset", "-05:30")),
    ("event_id-128-bytes", "received", lambda e: setattr(e, "event_id", uuid.uuid4().hex + "x" * 96)),
    ("produced.scrap-absent", "produced", _clear("produced.scrap")),
    ("produced.scrap-zero-no-uom", "produced", lambda e: e.produced.scrap.CopyFrom(qty(0.0, ""))),
    ("operation.good-absent", "operation", _clear("operation.good")),
    ("downtime.still-open", "downtime", _set("downtime.ended_at_ms", 0)),
    ("moved.without-new_lot", "moved", _clear("moved.new_lot")),
    ("occurred_at-12h-ahead", "received", lambda e: setattr(e, "occurred_at_ms", now_ms() + DAY_MS // 2)),
    ("received.lot.lot-256-bytes", "received", _set("received.lot.lot", uuid.uuid4().hex + "x" * 224)),
    ("scrapped.reason-4096-bytes", "scrapped", _set("scrapped.reason", "r" * 4096)),
    ("packed.contents-1000", "packed",
     _contents(*({"product": "P", "serial": f"S{uuid.uuid4().hex}"} for _ in range(1000)))),
]


def invalid_event(case):
    _id, kind, mutate, _field = case
    e = event(kind, event_id=new_event_id("bad"))
    mutate(e)
    return e


def valid_edge_event(case):
    _id, kind, mutate = case
    e = event(kind)
    mutate(e)
    return e


def names_field(text: str, field: str) -> bool:
    """Whether `text` names exactly `field` (not merely a longer or shorter path around it)."""
    return re.search(r"(?<![\w.\[\]])" + re.escape(field) + r"(?![\w.\[])", text) is not None
