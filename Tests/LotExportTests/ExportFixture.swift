import Foundation
import GenealogyStore
import Logging
import MESDomain
import MESMessages
import Synchronization

/// A fresh store per test holding a small plant, removed when the fixture goes away.
///
/// Steel lot S1 (supplier `Acme <Steel> & "Co"`, PO P00042) and GTIN lot 4006381333931/G1 go into
/// order MO1, which makes BRACKET lot B1 (10 Units, 1 scrapped); B1 is packed on pallet
/// 003401234500000017 (an SSCC), which ships to `Customer, "A"`; B1 fails a check; S1 is held.
final class ExportFixture {
    static let gtin = "4006381333931"
    static let sscc = "003401234500000017"
    let directory: String
    let store: GenealogyStore
    var sequences: [String: Int64] = [:]

    init() throws {
        directory = (NSTemporaryDirectory() as NSString).appendingPathComponent("mesgate-export-\(UUID().uuidString)")
        var options = StoreOptions()
        options.synchronous = .normal
        store = try GenealogyStore.open(
            directory: directory, options: options,
            logger: Logger(label: "mesgate.export.tests") { _ in SwiftLogNoOpLogHandler() })
    }

    deinit {
        store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func event(_ id: String, at minute: Int64, workOrder: String = "", _ body: EventBody) -> Event {
        Event(
            eventID: id, occurredAtMs: 1_750_000_000_000 + minute * 60_000, tzOffset: "+02:00", plant: "P1",
            workCenter: "WC-1", operatorID: "op-7", workOrder: workOrder, body: body)
    }

    static let s1 = LotRef(product: "STEEL", lot: "S1")
    static let g1 = LotRef(product: gtin, lot: "G1")
    static let b1 = LotRef(product: "BRACKET", lot: "B1")
    static let pallet = LotRef(container: sscc)

    static let events: [Event] = [
        event(
            "rcv-s1", at: 0,
            .received(
                MaterialReceived(
                    lot: s1, qty: Quantity(value: 100, uom: "kg"), supplier: "Acme <Steel> & \"Co\"",
                    supplierLot: "AS-1", purchaseOrder: "P00042", location: "WH/Stock"))),
        event(
            "rcv-g1", at: 1,
            .received(
                MaterialReceived(
                    lot: g1, qty: Quantity(value: 5, uom: "kg"), supplier: "Globex", supplierLot: "GX-9",
                    purchaseOrder: "P00043", location: "WH/Stock"))),
        event(
            "con-s1", at: 10, workOrder: "MO1",
            .consumed(MaterialConsumed(component: s1, qty: Quantity(value: 12.5, uom: "kg")))),
        event(
            "con-g1", at: 11, workOrder: "MO1",
            .consumed(MaterialConsumed(component: g1, qty: Quantity(value: 2, uom: "kg")))),
        event(
            "prd-b1", at: 20, workOrder: "MO1",
            .produced(
                ProductionReported(
                    output: b1, good: Quantity(value: 10, uom: "Units"), scrap: Quantity(value: 1, uom: "Units"),
                    location: "WH/Stock"))),
        event("opr-mo1", at: 21, workOrder: "MO1", .operation(OperationReported(operation: "OP10", state: .completed))),
        event("pck-b1", at: 30, .packed(Packed(container: pallet, contents: [b1], action: .add))),
        event(
            "shp-pallet", at: 40,
            .shipped(
                Shipped(
                    lot: pallet, qty: Quantity(value: 1, uom: "Units"), customer: "Customer, \"A\"",
                    delivery: "WH/OUT/7", destination: "DE-Berlin"))),
        event(
            "qc-b1", at: 50,
            .quality(
                QualityResult(
                    lot: b1, check: "hardness", outcome: .fail,
                    measurements: [.init(name: "HRC", value: 30, unit: "HRC", lower: 38, upper: 45)]))),
    ]

    /// Stores the plant's events, then a hold on S1 (reaching B1 and the pallet).
    func load() async throws {
        for event in Self.events {
            let request = IngestRequest(event: event, raw: EventCodec.encode(event), client: "line-1")
            let outcome = await withCheckedContinuation { (done: CheckedContinuation<IngestOutcome, Never>) in
                let submitted = store.submit(request) { done.resume(returning: $0) }
                if submitted != .queued {
                    done.resume(returning: .failed(GenealogyStoreError(.closed, "\(submitted)")))
                }
            }
            guard case .accepted(let sequence) = outcome else {
                throw FixtureError(text: "\(event.eventID): \(outcome)")
            }
            sequences[event.eventID] = sequence
        }
        let hold = await store.placeHold(HoldRequest(lot: Self.s1, reason: "supplier recall <R-1>"), by: "qa-anna")
        if case .failed(let error) = hold { throw FixtureError(text: "hold: \(error)") }
    }

    struct FixtureError: Error { let text: String }
}

/// RFC 4180 CSV: fields separated by commas, records by CRLF, `"` quoting with `""` inside.
func parseCSV(_ text: String) -> [[String]] {
    var records: [[String]] = []
    var record: [String] = []
    var field = ""
    var quoted = false
    var chars = Array(text.unicodeScalars)[...]
    while let c = chars.popFirst() {
        if quoted {
            if c == "\"" {
                if chars.first == "\"" {
                    field.unicodeScalars.append("\"")
                    chars.removeFirst()
                } else {
                    quoted = false
                }
            } else {
                field.unicodeScalars.append(c)
            }
        } else if c == "\"" {
            quoted = true
        } else if c == "," {
            record.append(field)
            field = ""
        } else if c == "\r" && chars.first == "\n" {
            chars.removeFirst()
            record.append(field)
            records.append(record)
            record = []
            field = ""
        } else {
            field.unicodeScalars.append(c)
        }
    }
    if !field.isEmpty || !record.isEmpty { records.append(record + [field]) }
    return records
}
