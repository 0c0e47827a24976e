import MESDomain
import MESMessages
import Testing

/// `EventCodec.encode` writes what `decode` reads, for every body (imported EPCIS events are
/// stored as encoded `mes.v1.Event`s).
@Suite struct EventEncodeTests {
    static let lot = LotRef(product: "RESIN", lot: "R-1")
    static let bodies: [EventBody] = [
        .received(
            MaterialReceived(
                lot: lot, qty: Quantity(value: 5, uom: "kg"), supplier: "S", supplierLot: "SL", purchaseOrder: "PO",
                location: "WH")),
        .consumed(
            MaterialConsumed(
                component: lot, qty: Quantity(value: 1, uom: "kg"), into: LotRef(product: "P", serial: "1"))),
        .produced(ProductionReported(output: lot, good: Quantity(value: 2, uom: "EA"), scrap: nil, location: "L")),
        .operation(OperationReported(operation: "10", state: .completed, good: nil, scrap: nil)),
        .downtime(DowntimeReported(reason: "jam", loss: .availability, startedAtMs: 1, endedAtMs: 2)),
        .quality(
            QualityResult(
                lot: lot, check: "visc", outcome: .fail,
                measurements: [.init(name: "v", value: 1.5, unit: "cP", lower: 1, upper: 2)])),
        .shipped(Shipped(lot: lot, qty: nil, customer: "C", delivery: "D", destination: "X")),
        .scrapped(Scrapped(lot: lot, qty: Quantity(value: 1, uom: "kg"), reason: "destroying")),
        .packed(
            Packed(
                container: LotRef(container: "SSCC-1"), contents: [lot, LotRef(product: "P", serial: "2")],
                action: .delete)),
        .moved(
            Moved(lot: lot, qty: nil, fromLocation: "A", toLocation: "B", newLot: LotRef(product: "RESIN", lot: "R-2"))),
    ]

    @Test(arguments: bodies)
    func roundTrip(body: EventBody) throws {
        let event = Event(
            eventID: "ni:///sha-256;ab?ver=CBV2.0#\(body.name).0", occurredAtMs: 1_784_695_500_000, tzOffset: "+02:00",
            plant: "", workCenter: "", operatorID: "", workOrder: "urn:mesgate:mo:MO-7", body: body)
        let decoded = try EventCodec.encode(event).withUnsafeBytes { bytes in try EventCodec.decode(bytes) }
        #expect(decoded == event)
    }
}
