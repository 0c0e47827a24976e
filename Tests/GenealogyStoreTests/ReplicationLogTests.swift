import GenealogyStore
import MESDomain
import Testing

@Suite struct ReplicationLogTests {
    @Test func entriesComeInCommitOrderWithEventsHoldsAndReleases() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest([
            request("r1", .received(.init(lot: lot("RAW", "R1"), qty: qty(5), supplier: "Acme"))),
            request("c1", .consumed(.init(component: lot("RAW", "R1"), qty: qty(2), into: lot("OUT", "O1")))),
        ])
        #expect(await store.placeHold(HoldRequest(lot: lot("RAW", "R1"), reason: "odour"), by: "qa-anna") != .notFound)
        _ = await store.ingest(request("p1", .produced(.init(output: lot("OUT", "O2"), good: qty(1, "Units")))))
        #expect(
            await store.releaseHold(HoldRequest(lot: lot("RAW", "R1"), reason: "lab ok"), by: "qa-ben") != .notFound)

        let log = try ReplicationLog(path: fixture.path)
        let start = try log.cursor(stream: "MESGATE_P1")
        #expect(start == ReplicationCursor(auditID: 0, eventSequence: 0))
        let batch = try log.entries(after: start, limit: 100)
        let shape = batch.records.map { record -> String in
            switch record.change {
            case .event(let event): "event \(event.eventID) #\(event.sequence)"
            case .holdPlaced(let hold): "placed \(hold.root.lot) by \(hold.placedBy): \(hold.reason)"
            case .holdReleased(let hold): "released \(hold.root.lot) by \(hold.releasedBy): \(hold.releaseReason)"
            }
        }
        #expect(
            shape == [
                "event r1 #1", "event c1 #2", "placed R1 by qa-anna: odour", "event p1 #3",
                "released R1 by qa-ben: lab ok",
            ])
        #expect(batch.records.map(\.auditID) == batch.records.map(\.auditID).sorted())
        #expect(batch.through.eventSequence == 3)
        if case .event(let event) = batch.records[0].change {
            #expect(event.raw == Array("r1".utf8) && event.client == "test-client" && event.kind == "received")
        }

        // Reading in small pages gives the same records, and the cursor only moves forward.
        var cursor = start
        var paged: [Int64] = []
        while true {
            let page = try log.entries(after: cursor, limit: 2)
            if page.through == cursor { break }
            paged += page.records.map(\.auditID)
            cursor = page.through
        }
        #expect(paged == batch.records.map(\.auditID))
        try log.advance(stream: "MESGATE_P1", to: batch.through, nowMs: 1)
        try log.advance(stream: "MESGATE_P1", to: ReplicationCursor(auditID: 1, eventSequence: 1), nowMs: 2)
        #expect(try log.cursor(stream: "MESGATE_P1") == batch.through)
        #expect(try log.entries(after: batch.through, limit: 100).records.isEmpty)
        let caughtUp = try log.lag(behind: batch.through)
        #expect(caughtUp.events == 0 && caughtUp.oldestWaitingRecordedAtMs == nil)
        let behind = try log.lag(behind: ReplicationCursor(auditID: 0, eventSequence: 1))
        #expect(behind.events == 2 && behind.oldestWaitingRecordedAtMs != nil)
    }

    @Test func aStoreServesOnePlant() throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let log = try ReplicationLog(path: fixture.path)
        let id = try log.storeID()
        #expect(id.count == 32)
        try log.claimPlant("PLANT-A")
        try log.claimPlant("PLANT-A")
        let refused = #expect(throws: GenealogyStoreError.self) { try log.claimPlant("PLANT-B") }
        #expect(refused?.message.contains("serves plant PLANT-A, not PLANT-B") == true)
        #expect(try log.storeID() == id)
    }
}
