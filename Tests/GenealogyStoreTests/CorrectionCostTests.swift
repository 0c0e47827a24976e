import MESDomain
import SQLite
import Testing

@testable import GenealogyStore

/// A correction finds what it takes back through the nodes its event names, never by reading a
/// whole table: no index has `sequence`, and on a store of millions of events such a scan held the
/// writer, and every ack waiting on it, for seconds.
@Suite struct CorrectionCostTests {
    static func serial(_ n: Int) -> LotRef { LotRef(product: "FR", serial: "F\(n)") }

    /// A receipt of steel and 200 consumptions of it, each into a serial of its own, over 5 orders.
    static func steelIntoSerials() -> [IngestRequest] {
        [request("r0", .received(.init(lot: lot("STEEL", "S0"), qty: qty(1_000), supplier: "ACME")))]
            + (0..<200).map { i in
                request(
                    "c\(i)", workOrder: "MO\(i % 5)",
                    .consumed(.init(component: lot("STEEL", "S0"), qty: qty(1), into: Self.serial(i))))
            }
    }

    @Test func aVoidOfEachKindReadsNoWholeTable() async throws {
        let fixture = StoreFixture()
        let events = CorrectionTests.Events()
        do {
            let store = try fixture.open()
            defer { store.close() }
            let box = LotRef(container: "BOX")
            var requests = Self.steelIntoSerials()
            requests += [
                request("p1", workOrder: "MO1", .produced(.init(output: Self.serial(1), good: qty(1, "Units")))),
                request("k1", .packed(.init(container: box, contents: [Self.serial(2)], action: .add))),
                request("k2", .packed(.init(container: box, contents: [Self.serial(2)], action: .delete))),
                request("m1", .moved(.init(lot: lot("STEEL", "S0"), qty: qty(5), newLot: lot("STEEL", "S0-A")))),
                request("x1", .scrapped(.init(lot: Self.serial(3), qty: qty(1), reason: "bent"))),
                request("s1", .shipped(.init(lot: Self.serial(4), qty: nil, customer: "C1"))),
            ]
            #expect(await store.ingest(events.add(requests)).allSatisfy { $0.sequence != nil })
        }
        let db = try fixture.rawConnection()
        let voided = ["c7", "p1", "k2", "k1", "m1", "x1", "s1", "r0"]
        var sequences: [SQLiteValue] = []
        for id in voided {
            sequences.append(
                try #require(try db.scalar("SELECT sequence FROM events WHERE event_id = ?1", [.text(id)])))
        }
        try db.execute("BEGIN IMMEDIATE")
        let recorder = CorrectionRecorder(db: db, nowMs: 1, decode: events.decode)
        for id in voided {
            let outcome = try recorder.record(CorrectionRequest(eventID: id, reason: "cost", by: "qa"))
            guard case .corrected = outcome else {
                Issue.record("\(id): \(outcome)")
                return
            }
        }
        #expect(db.cachedStatementsFullScanSteps == 0)
        try db.execute("COMMIT")
        // And each was taken back (these counts read whole tables: after the measurement). The
        // correction path used to find the edges of c7 and m1, the containment k2 had ended, the
        // receipt and the shipment each by such a scan.
        for sequence in sequences {
            // (An order → output link stays while the output exists: later reports share it.)
            #expect(
                try db.scalar("SELECT count(*) FROM edges WHERE sequence = ?1 AND kind != 'order_output'", [sequence])
                    == .integer(0))
            #expect(
                try db.scalar("SELECT count(*) FROM edges WHERE ended_sequence = ?1", [sequence]) == .integer(0))
        }
        #expect(try db.scalar("SELECT count(*) FROM receipts") == .integer(0))
        #expect(try db.scalar("SELECT count(*) FROM shipments") == .integer(0))
        #expect(
            try db.scalar("SELECT count(*) FROM nodes WHERE status != 'active' AND kind != 'order'") == .integer(0))
        #expect(
            try db.scalar(
                "SELECT qty FROM edges WHERE kind = 'order_output' AND to_node = (SELECT id FROM nodes WHERE serial = 'F1')"
            )
                == .real(0))
    }

    /// At the hub, a plant's correction finds the hub's copies of its events by the plant's sequences
    /// (`plant_events`' key) and takes back what the event made the same way: no whole table read.
    @Test func aPlantCorrectionAtTheHubReadsNoWholeTable() async throws {
        let fixture = StoreFixture()
        let events = CorrectionTests.Events()
        do {
            let store = try fixture.open()
            defer { store.close() }
            var requests = Self.steelIntoSerials()
            for i in requests.indices {
                requests[i].origin = EventOrigin(plant: "PLANT-A", sequence: Int64(i + 1), recordedAtMs: 1)
            }
            #expect(await store.ingest(events.add(requests)).allSatisfy { $0.sequence != nil })
        }
        let db = try fixture.rawConnection()
        try db.execute("BEGIN IMMEDIATE")
        let recorder = CorrectionRecorder(db: db, nowMs: 1, decode: events.decode)
        let void = ReplicatedCorrection(
            id: 1, sequence: 9, replacementSequence: nil, reason: "cost", by: "qa", atMs: 1)
        var replaced = void
        replaced.id = 2
        replaced.sequence = 10
        replaced.replacementSequence = 11
        for correction in [void, replaced] {
            let outcome = try recorder.recordPlant(correction, from: "PLANT-A")
            guard case .applied = outcome else {
                Issue.record("\(correction.id): \(outcome)")
                return
            }
        }
        #expect(db.cachedStatementsFullScanSteps == 0)
        try db.execute("COMMIT")
        #expect(
            try db.scalar(
                """
                SELECT count(*) FROM edges e JOIN plant_events p ON p.sequence = e.sequence
                WHERE p.plant_sequence IN (9, 10) AND e.kind = 'direct'
                """) == .integer(0))
        #expect(try db.scalar("SELECT count(*) FROM corrections") == .integer(2))
    }
}
