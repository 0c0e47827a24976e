import Foundation
import GenealogyStore
import MESDomain
import Synchronization
import Testing

@Suite struct CorrectionTests {
    /// The fixture's requests carry their event id as bytes: this reads them back as events.
    final class Events: Sendable {
        private let known = Mutex<[[UInt8]: Event]>([:])
        func add(_ requests: [IngestRequest]) -> [IngestRequest] {
            known.withLock { for r in requests { $0[r.raw] = r.event } }
            return requests
        }
        var decode: @Sendable ([UInt8]) -> Event? { { raw in self.known.withLock { $0[raw] } } }
    }

    /// A receipt of steel, two consumptions of it into order MO1's output B1 (one of 5 kg, one
    /// wrong of 50 kg), the production of B1, a scrap and a shipment of B1.
    func filled() async throws -> (StoreFixture, GenealogyStore, Events, [Int64]) {
        let fixture = StoreFixture()
        let store = try fixture.open()
        let events = Events()
        let outcomes = await store.ingest(
            events.add([
                request("r1", .received(.init(lot: lot("STEEL", "S1"), qty: qty(100), supplier: "ACME"))),
                request(
                    "c1", workOrder: "MO1",
                    .consumed(.init(component: lot("STEEL", "S1"), qty: qty(5), into: lot("BR", "B1")))),
                request(
                    "c2", workOrder: "MO1",
                    .consumed(.init(component: lot("STEEL", "S1"), qty: qty(50), into: lot("BR", "B1")))),
                request("p1", workOrder: "MO1", .produced(.init(output: lot("BR", "B1"), good: qty(2, "Units")))),
                request(
                    "s1", workOrder: "MO1", .scrapped(.init(lot: lot("STEEL", "S1"), qty: qty(1), reason: "dropped"))),
                request(
                    "sh1",
                    .shipped(.init(lot: lot("BR", "B1"), qty: qty(2, "Units"), customer: "Cust", delivery: "WH/OUT/1"))),
            ]))
        return (fixture, store, events, outcomes.compactMap(\.sequence))
    }

    @Test func aVoidedConsumptionLeavesTheGenealogyAndTheOrderTotalsAndPostsTheOrderAgain() async throws {
        let (fixture, store, events, sequences) = try await filled()
        defer { store.close() }
        let outbox = try OutboxStore(path: store.path)
        let row = try #require(try outbox.list(states: [], limit: 10).first { $0.sequence == sequences[2] })
        try outbox.markDead([row.id], error: "permanent: too much steel", nowMs: 10)
        #expect(try store.count("SELECT count(*) FROM edges WHERE sequence = ?1", [.integer(sequences[2])]) == 1)

        let outcome = await store.correct(
            CorrectionRequest(eventID: "c2", reason: "50 kg was a typo", by: "ana"), decode: events.decode)
        guard case .corrected(let correction) = outcome else { Issue.record("\(outcome)"); return }
        #expect(correction.isVoid && correction.sequence == sequences[2] && correction.by == "ana")
        #expect(correction.reposted == ["work_order:MO1"] && correction.odooToReverse.isEmpty)
        // The link is gone, the event stays.
        #expect(try store.count("SELECT count(*) FROM edges WHERE sequence = ?1", [.integer(sequences[2])]) == 0)
        #expect(try store.count("SELECT count(*) FROM events WHERE event_id = 'c2'") == 1)
        // Odoo's totals leave it out; its row is posted again.
        #expect(try outbox.events(ofOrder: "MO1").map(\.sequence) == [sequences[1], sequences[3], sequences[4]])
        #expect(try outbox.correctedEvents(ofOrder: "MO1").map(\.sequence) == [sequences[2]])
        #expect(try outbox.entry(id: row.id)?.state == "pending")
        // The history shows it, marked.
        let history = try #require(try store.lotHistory(lot("STEEL", "S1")))
        let voided = try #require(history.first { $0.eventID == "c2" })
        #expect(voided.correction?.reason == "50 kg was a typo" && voided.correction?.isVoid == true)
        #expect(history.first { $0.eventID == "c1" }?.correction == nil)
        // The output's history too: the voided consumption's links outlive its edge.
        let output = try #require(try store.lotHistory(lot("BR", "B1")))
        #expect(output.first { $0.eventID == "c2" }?.correction?.isVoid == true)
        // Twice: refused, naming the first.
        let again = await store.correct(
            CorrectionRequest(eventID: "c2", reason: "again", by: "bo"), decode: events.decode)
        #expect(again == .correctedBefore(try #require(try store.corrections().first)))
        #expect(try store.corrections().count == 1)
        try fixture.expectAuditIntact()
        #expect(
            try store.count(
                "SELECT count(*) FROM audit_log WHERE action = 'event_voided' AND subject LIKE 'correction:1 %'")
                == 1)
    }

    @Test func aReplacementIsStoredAsAnEventOfItsOwnAndNamesWhatItReplaces() async throws {
        let (fixture, store, events, sequences) = try await filled()
        defer { store.close() }
        let fixed = events.add([
            request(
                "c2.c1", workOrder: "MO1",
                .consumed(.init(component: lot("STEEL", "S1"), qty: qty(5.5), into: lot("BR", "B1"))))
        ])[0]
        let outcome = await store.correct(
            CorrectionRequest(eventID: "c2", reason: "5.5 kg, not 50", replacement: fixed, by: "ana"),
            decode: events.decode)
        guard case .corrected(let correction) = outcome else { Issue.record("\(outcome)"); return }
        let replacement = try #require(correction.replacementSequence)
        #expect(replacement > sequences.last! && correction.replacementEventID == "c2.c1")
        #expect(try store.count("SELECT count(*) FROM edges WHERE sequence = ?1", [.integer(replacement)]) == 1)
        let outbox = try OutboxStore(path: store.path)
        #expect(try outbox.events(ofOrder: "MO1").map(\.sequence).contains(replacement))
        let history = try #require(try store.lotHistory(lot("STEEL", "S1")))
        #expect(history.first { $0.eventID == "c2" }?.correction?.replacementEventID == "c2.c1")
        #expect(history.first { $0.eventID == "c2.c1" }?.corrects == "c2")
        try fixture.expectAuditIntact()
    }

    @Test func refusalsChangeNothing() async throws {
        let (fixture, store, events, _) = try await filled()
        defer { store.close() }
        let unknown = await store.correct(
            CorrectionRequest(eventID: "nope", reason: "x", by: "ana"), decode: events.decode)
        #expect(unknown == .notFound)
        // A replacement whose id is stored already (another event's).
        let taken = events.add([
            request(
                "c1", workOrder: "MO1",
                .consumed(.init(component: lot("STEEL", "S1"), qty: qty(7), into: lot("BR", "B1"))))
        ])[0]
        let refused = await store.correct(
            CorrectionRequest(eventID: "c2", reason: "x", replacement: taken, by: "ana"), decode: events.decode)
        guard case .replacementRefused(let error) = refused else { Issue.record("\(refused)"); return }
        #expect(error.code == .conflict)
        #expect(try store.corrections().isEmpty)
        #expect(try store.count("SELECT count(*) FROM edges WHERE kind = 'direct'") == 2)
        try fixture.expectAuditIntact()
    }

    @Test func aVoidedShipmentIsNoLongerShippedAndAPostedScrapIsNamedForOdoo() async throws {
        let (fixture, store, events, sequences) = try await filled()
        defer { store.close() }
        #expect(try store.count("SELECT count(*) FROM nodes WHERE lot = 'B1' AND status = 'shipped'") == 1)
        let shipment = await store.correct(
            CorrectionRequest(eventID: "sh1", reason: "not shipped: truck left without it", by: "ana"),
            decode: events.decode)
        guard case .corrected = shipment else { Issue.record("\(shipment)"); return }
        #expect(try store.count("SELECT count(*) FROM shipments") == 0)
        #expect(try store.count("SELECT count(*) FROM nodes WHERE lot = 'B1' AND status = 'active'") == 1)

        let outbox = try OutboxStore(path: store.path)
        let scrapRow = try #require(try outbox.list(states: [], limit: 10).first { $0.sequence == sequences[4] })
        try outbox.markPosted([scrapRow.id], answer: "stock.scrap 7 done", nowMs: 10)
        let scrap = await store.correct(
            CorrectionRequest(eventID: "s1", reason: "not scrapped", by: "ana"), decode: events.decode)
        guard case .corrected(let correction) = scrap else { Issue.record("\(scrap)"); return }
        #expect(correction.reposted.isEmpty)
        #expect(correction.odooToReverse == ["work_order:MO1: stock.scrap 7 done"])
        #expect(try outbox.entry(id: scrapRow.id)?.state == "posted")
        try fixture.expectAuditIntact()
    }
}
