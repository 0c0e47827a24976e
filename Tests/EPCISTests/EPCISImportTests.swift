import Foundation
import GenealogyStore
import Logging
import MESDomain
import MESMessages
import MESServices
import Testing

/// Imports through the real store (a fresh SQLite file per test) and reads the genealogy back.
@Suite struct EPCISImportTests {
    final class Store {
        let directory = (NSTemporaryDirectory() as NSString).appendingPathComponent(
            "mesgate-epcis-\(UUID().uuidString)")
        let store: GenealogyStore

        init() throws {
            store = try GenealogyStore.open(
                directory: directory, logger: Logger(label: "epcis.tests") { _ in SwiftLogNoOpLogHandler() })
        }

        deinit {
            store.close()
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// Fails the test unless `mesgate audit verify` would find the trail intact.
        func expectAuditIntact(sourceLocation: SourceLocation = #_sourceLocation) throws {
            let path = (directory as NSString).appendingPathComponent(GenealogyStore.fileName)
            let result = try AuditTrail(path: path).verify()
            #expect(result.problem == nil, "\(result.problem?.message ?? "")", sourceLocation: sourceLocation)
        }

        func count(_ table: String) throws -> Int {
            try store.read { db in
                guard case .integer(let n) = try db.scalar("SELECT count(*) FROM \(table)") else { return -1 }
                return Int(n)
            }
        }
    }

    /// GTIN of `urn:epc:class:lgtin:4012345.012345.*` (indicator 0, company 4012345, item 12345, check 6).
    static let resin = "04012345123456"
    static let pump = "09521234543213"

    static func document(_ events: String) -> [UInt8] {
        Array(
            """
            {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
             "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-07-22T06:00:00Z",
             "epcisBody": {"eventList": [\(events)]}}
            """.utf8)
    }

    static let receipt = """
        {"type": "ObjectEvent", "eventTime": "2026-07-22T06:45:00+02:00", "eventTimeZoneOffset": "+02:00",
         "action": "ADD", "bizStep": "receiving", "disposition": "in_progress",
         "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.R-1042", "quantity": 100, "uom": "KGM"}],
         "bizLocation": {"id": "urn:epc:id:sgln:4012345.00001.0"},
         "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
         "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:PO-77"}]}
        """
    static let transformation = """
        {"type": "TransformationEvent", "eventTime": "2026-07-22T08:00:00+02:00", "eventTimeZoneOffset": "+02:00",
         "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.R-1042", "quantity": 40, "uom": "KGM"}],
         "outputEPCList": ["https://id.gs1.org/01/09521234543213/21/SN-1", "https://id.gs1.org/01/09521234543213/21/SN-2"],
         "transformationID": "urn:mesgate:mo:MO-7", "bizStep": "commissioning"}
        """
    static let inspection = """
        {"type": "ObjectEvent", "eventTime": "2026-07-22T09:00:00+02:00", "eventTimeZoneOffset": "+02:00",
         "action": "OBSERVE", "bizStep": "inspecting", "epcList": ["https://id.gs1.org/01/09521234543213/21/SN-1"]}
        """

    @Test func receiptAndTransformationBecomeATrace() async throws {
        let fixture = try Store()
        let importer = EPCISImporter(store: fixture.store)
        let json = Self.document([Self.receipt, Self.transformation, Self.inspection].joined(separator: ","))
        let result = try await importer.importDocument(json, client: "supplier-1")
        #expect(result.events == 3)
        #expect(result.notMapped == 1)
        #expect(result.receipts == 1)
        #expect(result.transformations == 1)
        #expect(result.stored == 4)  // received, consumed, produced ×2
        #expect(result.duplicates == 0)
        #expect(result.lots == 3)
        #expect(result.importID > 0)
        #expect(try fixture.count("outbox") == 0)  // the supplier's production is not posted to Odoo

        let resinLot = LotRef(product: Self.resin, lot: "R-1042")
        let serial = LotRef(product: Self.pump, serial: "SN-1")
        let forward = try #require(try fixture.store.trace(TraceRequest(lot: resinLot, direction: .forward)))
        let reached = Set(forward.nodes.compactMap(\.ref.lot))
        #expect(reached.contains(serial))
        #expect(reached.contains(LotRef(product: Self.pump, serial: "SN-2")))
        #expect(forward.nodes.contains { $0.ref.workOrder == "urn:mesgate:mo:MO-7" })

        let backward = try #require(try fixture.store.trace(TraceRequest(lot: serial, direction: .backward)))
        let receipt = try #require(backward.receipts.first)
        #expect(receipt.lot == resinLot)
        #expect(receipt.supplier == "urn:epc:id:pgln:4012345.00000")
        #expect(receipt.supplierLot == "R-1042")
        #expect(receipt.purchaseOrder == "urn:epcglobal:cbv:bt:4012345000009:PO-77")
        #expect(receipt.qty == Quantity(value: 100, uom: "KGM"))

        // The stored events decode as mes.v1.Event (LotHistory and exports read them).
        let history = try #require(try fixture.store.lotHistory(resinLot))
        #expect(history.count == 2)
        let first = try history[0].raw.withUnsafeBytes { bytes in try EventCodec.decode(bytes) }
        guard case .received(let received) = first.body else { throw EPCISTestFailure("not a receipt: \(first)") }
        #expect(received.lot == resinLot)
        #expect(first.tzOffset == "+02:00")
        #expect(first.occurredAtMs == 1_784_695_500_000)

        // Importing the same document again stores nothing new.
        let again = try await importer.importDocument(json, client: "supplier-1")
        #expect(again.stored == 0)
        #expect(again.duplicates == 4)
        #expect(again.importID == 0)
        #expect(try fixture.count("epcis_imports") == 1)
        #expect(try fixture.count("events") == 4)
    }

    @Test func aRefusedEventRollsBackTheWholeDocument() async throws {
        let fixture = try Store()
        let importer = EPCISImporter(store: fixture.store)
        // An event with an EPCIS eventID of its own, stored; a later document re-uses that id for
        // another event: the store refuses it, and the whole document with it.
        let named = Self.receipt.replacingOccurrences(
            of: "{\"type\": \"ObjectEvent\",",
            with: "{\"type\": \"ObjectEvent\", \"eventID\": \"urn:uuid:6b1f0c9e-0000-4000-8000-000000000001\",")
        _ = try await importer.importDocument(Self.document(named), client: "supplier-1")
        let events = try fixture.count("events")

        let otherReceipt = Self.receipt.replacingOccurrences(of: "R-1042", with: "R-2000")
        let reused = named.replacingOccurrences(of: "\"quantity\": 100", with: "\"quantity\": 7")
        let error = await #expect(throws: EPCISImporter.Failure.self) {
            try await importer.importDocument(Self.document(otherReceipt + "," + reused), client: "supplier-1")
        }
        guard case .refused(let message) = error else {
            throw EPCISTestFailure("not refused: \(String(describing: error))")
        }
        #expect(message.hasPrefix("eventList[1]: "))
        #expect(message.contains("is stored already"), "\(message)")
        #expect(message.contains("nothing of the document was stored"))
        #expect(try fixture.count("events") == events)
        #expect(try fixture.count("epcis_imports") == 1)
        #expect(
            try fixture.store.trace(TraceRequest(lot: LotRef(product: Self.resin, lot: "R-2000"), direction: .forward))
                == nil)
        try fixture.expectAuditIntact()

        // The refusal rolled back the audit entries of the document's stored events: the next
        // document's entries follow the last committed one, with no gap in the ids.
        let third = Self.receipt.replacingOccurrences(of: "R-1042", with: "R-3000")
        let stored = try await importer.importDocument(Self.document(third), client: "supplier-1")
        #expect(stored.stored == 1)
        try fixture.expectAuditIntact()
    }

    /// A supplier's document says what the supplier shipped: that is this plant's receipt of it.
    @Test func aSuppliersShippingIsAReceiptAndIsNotCountedTwiceWithItsReceiving() async throws {
        let fixture = try Store()
        let importer = EPCISImporter(store: fixture.store)
        let shipping = """
            {"type": "ObjectEvent", "eventTime": "2026-07-21T16:00:00+02:00", "eventTimeZoneOffset": "+02:00",
             "action": "OBSERVE", "bizStep": "shipping",
             "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.R-7001", "quantity": 40, "uom": "KGM"}],
             "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
             "destinationList": [{"type": "location", "destination": "urn:epc:id:sgln:4023333.00001.0"}],
             "bizTransactionList": [{"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:ASN-5"}]}
            """
        let result = try await importer.importDocument(Self.document(shipping), client: "supplier-1")
        #expect(result.stored == 1 && result.receipts == 1 && result.shipments == 0)
        let lot = LotRef(product: Self.resin, lot: "R-7001")
        let trace = try #require(try fixture.store.trace(TraceRequest(lot: lot, direction: .backward)))
        #expect(trace.receipts.map(\.supplier) == ["urn:epc:id:pgln:4012345.00000"])
        #expect(trace.receipts.map(\.purchaseOrder) == ["urn:epcglobal:cbv:bt:4012345000009:ASN-5"])
        #expect(trace.shipments.isEmpty)

        // The supplier's shipping and this plant's receiving of one lot in one document: one receipt.
        let both =
            shipping.replacingOccurrences(of: "R-7001", with: "R-7002") + ","
            + Self.receipt.replacingOccurrences(of: "R-1042", with: "R-7002")
        let second = try await importer.importDocument(Self.document(both), client: "supplier-1")
        #expect(second.stored == 1 && second.receipts == 1)
        #expect(try fixture.count("receipts") == 2)
    }

    @Test func anInvalidDocumentStoresNothing() async throws {
        let fixture = try Store()
        let bytes = try ReferenceData.bytes(
            "capture/invalid", "ObjectEvent_with_non_standard_bizStep_in_second_event.json")
        let error = await #expect(throws: EPCISImporter.Failure.self) {
            try await EPCISImporter(store: fixture.store).importDocument(bytes, client: "supplier-1")
        }
        #expect(error == .invalid("eventList[1].bizStep: \"transforming\" is not a CBV bizStep and not a URI"))
        #expect(try fixture.count("events") == 0)
        #expect(try fixture.count("epcis_imports") == 0)
    }

    /// Found by FuzzEPCIS (Fuzz/crashes/FuzzEPCIS, 2026-12-03): an epcClass whose lot is longer than
    /// an identifier may be on the wire (256 bytes) was mapped and stored, an event that `Publish`
    /// refuses and that did not decode again.
    @Test func anEventOverTheFieldLimitsRefusesTheDocument() async throws {
        let fixture = try Store()
        let longLot = String(repeating: "w", count: 300)
        let document = Self.document(Self.receipt.replacingOccurrences(of: "R-1042", with: longLot))
        let error = await #expect(throws: EPCISImporter.Failure.self) {
            try await EPCISImporter(store: fixture.store).importDocument(document, client: "supplier-1")
        }
        guard case .invalid(let message) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(
            message
                == "eventList[0] maps to an event that cannot be stored: received.lot.product is longer than 256 bytes")
        #expect(try fixture.count("events") == 0)
        #expect(try fixture.count("epcis_imports") == 0)
        // The same receipt with a lot of ordinary length is stored.
        let fits = Self.document(Self.receipt)
        #expect(try await EPCISImporter(store: fixture.store).importDocument(fits, client: "supplier-1").stored == 1)
    }

    @Test(arguments: ReferenceData.files("capture/valid", suffix: ".json"))
    func everyValidCaptureDocumentImports(name: String) async throws {
        let fixture = try Store()
        let bytes = try ReferenceData.bytes("capture/valid", name)
        let result = try await EPCISImporter(store: fixture.store).importDocument(bytes, client: "supplier-1")
        #expect(result.events > 0)
        #expect(result.stored == (try fixture.count("events")))
        #expect(try fixture.count("epcis_imports") == 1)
    }
}

struct EPCISTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
