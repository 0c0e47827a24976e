import Testing

@testable import MESDomain

private let now: Int64 = 1_780_000_000_000
private let validator = EventValidator(nowMs: { now })
private let lot = LotRef(product: "STEEL", lot: "L-1")
private let kg = Quantity(value: 2, uom: "kg")

private func event(_ body: EventBody?, id: String = "ev-1", at: Int64 = now - 1000, tz: String = "+02:00") -> Event {
    Event(eventID: id, occurredAtMs: at, tzOffset: tz, plant: "P1", workCenter: "WC", workOrder: "MO/1", body: body)
}

/// One valid event of every kind.
let validEvents: [Event] = [
    event(.received(MaterialReceived(lot: lot, qty: kg, supplier: "ACME", supplierLot: "A-7", purchaseOrder: "PO1"))),
    event(.consumed(MaterialConsumed(component: lot, qty: kg, into: LotRef(product: "FRAME", serial: "SN1")))),
    event(.consumed(MaterialConsumed(component: LotRef(product: "BOLT"), qty: Quantity(value: 4, uom: "Units")))),
    event(
        .produced(
            ProductionReported(
                output: LotRef(product: "FRAME", lot: "F1"), good: kg, scrap: Quantity(value: 0, uom: "")))),
    event(.operation(OperationReported(operation: "weld", state: .started))),
    event(
        .downtime(DowntimeReported(reason: "jam", loss: .availability, startedAtMs: now - 5000, endedAtMs: now - 10))),
    event(
        .quality(
            QualityResult(lot: lot, check: "hardness", outcome: .pass, measurements: [.init(name: "HRC", value: 50)]))),
    event(.shipped(Shipped(lot: LotRef(container: "SSCC-1"), qty: Quantity(value: 1, uom: "Units"), customer: "C1"))),
    event(.scrapped(Scrapped(lot: LotRef(product: "GLUE"), qty: kg, reason: "expired"))),
    event(.packed(Packed(container: LotRef(container: "SSCC-1"), contents: [lot], action: .add))),
    event(
        .moved(
            Moved(lot: lot, qty: kg, fromLocation: "A", toLocation: "B", newLot: LotRef(product: "STEEL", lot: "L-1b")))
    ),
    event(.shipped(Shipped(lot: lot, qty: kg, customer: "C1")), tz: "Z"),
]

@Test(arguments: validEvents)
func validEventsPass(_ e: Event) throws {
    try validator.validate(e)
}

/// One invalid event per rule, with the field the error must name.
let invalidEvents: [(Event, String)] = [
    (event(.operation(OperationReported(operation: "x", state: .started)), id: ""), "event_id"),
    (
        event(.operation(OperationReported(operation: "x", state: .started)), id: String(repeating: "é", count: 65)),
        "event_id"
    ),
    (event(nil), "body"),
    (event(.operation(OperationReported(operation: "x", state: .started)), at: 0), "occurred_at_ms"),
    (event(.operation(OperationReported(operation: "x", state: .started)), at: now + 2 * 86_400_000), "occurred_at_ms"),
    (event(.operation(OperationReported(operation: "x", state: .started)), tz: "2h"), "tz_offset"),
    (event(.received(MaterialReceived(lot: LotRef(lot: "L"), qty: kg))), "received.lot.product"),
    (event(.received(MaterialReceived(lot: LotRef(product: "P"), qty: kg))), "received.lot"),
    (event(.received(MaterialReceived(lot: lot, qty: nil))), "received.qty"),
    (event(.consumed(MaterialConsumed(component: LotRef(), qty: kg))), "consumed.component"),
    (event(.consumed(MaterialConsumed(component: lot, qty: Quantity(value: 0, uom: "kg")))), "consumed.qty.value"),
    (event(.consumed(MaterialConsumed(component: lot, qty: Quantity(value: -1, uom: "kg")))), "consumed.qty.value"),
    (event(.consumed(MaterialConsumed(component: lot, qty: Quantity(value: .nan, uom: "kg")))), "consumed.qty.value"),
    (
        event(.consumed(MaterialConsumed(component: lot, qty: Quantity(value: .infinity, uom: "kg")))),
        "consumed.qty.value"
    ),
    (event(.consumed(MaterialConsumed(component: lot, qty: Quantity(value: 1, uom: "")))), "consumed.qty.uom"),
    (event(.consumed(MaterialConsumed(component: lot, qty: kg, into: LotRef(product: "P")))), "consumed.into"),
    (
        event(.produced(ProductionReported(output: lot, good: kg, scrap: Quantity(value: -1, uom: "kg")))),
        "produced.scrap.value"
    ),
    (event(.produced(ProductionReported(output: LotRef(lot: "x", container: "C"), good: kg))), "produced.output"),
    (event(.operation(OperationReported(operation: "", state: .started))), "operation.operation"),
    (event(.operation(OperationReported(operation: "x", state: .unspecified))), "operation.state"),
    (event(.downtime(DowntimeReported(reason: "", loss: .availability, startedAtMs: now - 1))), "downtime.reason"),
    (event(.downtime(DowntimeReported(reason: "jam", loss: .unspecified, startedAtMs: now - 1))), "downtime.loss"),
    (
        event(.downtime(DowntimeReported(reason: "jam", loss: .quality, startedAtMs: now - 1, endedAtMs: now - 2))),
        "downtime.ended_at_ms"
    ),
    (event(.quality(QualityResult(lot: lot, check: "", outcome: .pass))), "quality.check"),
    (event(.quality(QualityResult(lot: lot, check: "c", outcome: .unspecified))), "quality.outcome"),
    (
        event(
            .quality(QualityResult(lot: lot, check: "c", outcome: .warn, measurements: [.init(name: "m", value: .nan)]))
        ), "quality.measurements[0].value"
    ),
    (event(.shipped(Shipped(lot: lot, qty: kg, customer: ""))), "shipped.customer"),
    (event(.scrapped(Scrapped(lot: LotRef(serial: "S"), qty: kg))), "scrapped.lot.product"),
    (event(.packed(Packed(container: lot, contents: [lot], action: .add))), "packed.container"),
    (event(.packed(Packed(container: LotRef(container: "C"), contents: [], action: .add))), "packed.contents"),
    (
        event(.packed(Packed(container: LotRef(container: "C"), contents: [lot, LotRef(product: "X")], action: .add))),
        "packed.contents[1]"
    ),
    (event(.packed(Packed(container: LotRef(container: "C"), contents: [lot], action: .unspecified))), "packed.action"),
    (event(.moved(Moved(lot: lot, qty: kg, newLot: lot))), "moved.new_lot"),
]

@Test(arguments: invalidEvents)
func invalidEventsNameTheirField(_ e: Event, field: String) {
    #expect(throws: EventValidationError.self) { try validator.validate(e) }
    do {
        try validator.validate(e)
    } catch {
        #expect(error.field == field)
        #expect(!error.reason.isEmpty)
    }
}

@Test(arguments: ["+02:00", "-05:30", "Z", "+14:00"])
func offsetsAccepted(_ s: String) { #expect(EventValidator.isOffset(s)) }

@Test(arguments: ["", "02:00", "+2:00", "+02:60", "+15:00", "+02-00", "UTC"])
func offsetsRefused(_ s: String) { #expect(!EventValidator.isOffset(s)) }

@Test func lotRefKinds() {
    #expect(LotRef(product: "P", lot: "L").kind == .lot)
    #expect(LotRef(product: "P", lot: "L", serial: "S").kind == .serial)
    #expect(LotRef(container: "C").kind == .container)
    #expect(LotRef(product: "P").kind == .untracked)
    #expect(LotRef(lot: "L").kind == .incomplete)
    #expect(LotRef(product: "P", container: "C").kind == .incomplete)
    #expect(LotRef().isEmpty && LotRef().kind == .incomplete)
}
