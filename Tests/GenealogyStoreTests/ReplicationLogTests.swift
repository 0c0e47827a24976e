import GenealogySchema
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
            case .correction(let correction): "correction \(correction.id)"
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

    /// A correction travels as its own record, after the replacement stored in its transaction: a
    /// void with no replacement, a replacement with the plant's sequence of the new event.
    @Test func aCorrectionComesAfterItsReplacement() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let events = CorrectionTests.Events()
        let consumed = { (id: String, into: String) in
            request(id, .consumed(.init(component: lot("STEEL", "S1"), qty: qty(5), into: lot("BR", into))))
        }
        _ = await store.ingest(events.add([consumed("c1", "B1"), consumed("c2", "WRONG")]))
        _ = await store.correct(
            CorrectionRequest(eventID: "c1", reason: "double scan", by: "ana"), decode: events.decode)
        let fixed = events.add([consumed("c2.fix", "B2")])[0]
        _ = await store.correct(
            CorrectionRequest(eventID: "c2", reason: "wrong pallet", replacement: fixed, by: "ben"),
            decode: events.decode)

        let log = try ReplicationLog(path: fixture.path)
        let batch = try log.entries(after: ReplicationCursor(auditID: 0, eventSequence: 0), limit: 100)
        let shape = batch.records.map { record -> String in
            switch record.change {
            case .event(let event): "event \(event.eventID) #\(event.sequence)"
            case .correction(let c):
                "correction \(c.id) of #\(c.sequence) by \(c.replacementSequence.map { "#\($0)" } ?? "none"), \(c.by): \(c.reason)"
            case .holdPlaced, .holdReleased: "hold"
            }
        }
        #expect(
            shape == [
                "event c1 #1", "event c2 #2", "correction 1 of #1 by none, ana: double scan", "event c2.fix #3",
                "correction 2 of #2 by #3, ben: wrong pallet",
            ])
        if case .correction(let c) = batch.records[2].change { #expect(c.atMs > 0) }
    }

    /// A run of events (one audit entry) longer than a page is read in pieces: the cursor stays on
    /// the run's entry with the last event read, nothing is read twice, and the hold after it comes
    /// once the run is done.
    @Test func aRunOfEventsIsReadInPiecesAndResumedInside() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let requests = (0..<7).map { i in
            request("e\(i)", .received(.init(lot: lot("RAW", "R\(i)"), qty: qty(1), supplier: "Acme")))
        }
        let sequences = await store.ingestInOneBatch(requests).compactMap(\.sequence)
        #expect(await store.placeHold(HoldRequest(lot: lot("RAW", "R3"), reason: "odour"), by: "qa") != .notFound)
        let log = try ReplicationLog(path: fixture.path)
        let whole = try log.entries(after: ReplicationCursor(auditID: 0, eventSequence: 0), limit: 100)
        // The writer's hold event (its own run), the run of seven, the hold.
        #expect(whole.records.count == 9 && whole.through.auditID == 3)
        let runID = whole.records[1].auditID
        var cursor = ReplicationCursor(auditID: 0, eventSequence: 0)
        var pages: [[String]] = []
        while true {
            let page = try log.entries(after: cursor, limit: 3)
            if page.through == cursor { break }
            #expect(page.through.isAhead(of: cursor))
            pages.append(
                page.records.map { record in
                    switch record.change {
                    case .event(let event): event.eventID
                    case .holdPlaced(let hold): "placed \(hold.root.lot)"
                    case .holdReleased(let hold): "released \(hold.root.lot)"
                    case .correction(let correction): "correction \(correction.id)"
                    }
                })
            if page.records.count == 3, case .event(let last) = page.records[2].change, last.sequence < sequences[6] {
                // Cut inside the run: the cursor names the run and the last event read.
                #expect(page.through == ReplicationCursor(auditID: runID, eventSequence: last.sequence))
            }
            cursor = page.through
        }
        #expect(pages.count == 3 && pages.first?.dropFirst() == ["e0", "e1"] && pages[1] == ["e2", "e3", "e4"])
        #expect(pages.joined().dropFirst().elementsEqual(requests.map(\.event.eventID) + ["placed R3"]))
        #expect(cursor == whole.through)
        // A cursor saved inside the run moves forward within it, and never back.
        try log.advance(stream: "S", to: ReplicationCursor(auditID: runID, eventSequence: sequences[2]), nowMs: 1)
        try log.advance(stream: "S", to: ReplicationCursor(auditID: runID, eventSequence: sequences[4]), nowMs: 2)
        try log.advance(stream: "S", to: ReplicationCursor(auditID: runID, eventSequence: sequences[3]), nowMs: 3)
        #expect(try log.cursor(stream: "S") == ReplicationCursor(auditID: runID, eventSequence: sequences[4]))
        let rest = try log.entries(after: log.cursor(stream: "S"), limit: 100).records.compactMap { record in
            if case .event(let event) = record.change { event.eventID } else { nil }
        }
        #expect(rest == ["e5", "e6"])
    }

    /// What the replicator compares with its cursor when it reads the stream's last message after a
    /// failure: a later entry, or more of the same run, is ahead; the same place or less is not.
    @Test func aPositionIsAheadByItsEntryOrWithinItsRun() {
        let cursor = ReplicationCursor(auditID: 5, eventSequence: 40)
        #expect(ReplicationCursor(auditID: 5, eventSequence: 41).isAhead(of: cursor))
        #expect(ReplicationCursor(auditID: 6, eventSequence: 40).isAhead(of: cursor))
        #expect(ReplicationCursor(auditID: 6, eventSequence: 0).isAhead(of: cursor))
        #expect(!cursor.isAhead(of: cursor))
        #expect(!ReplicationCursor(auditID: 5, eventSequence: 39).isAhead(of: cursor))
        #expect(!ReplicationCursor(auditID: 4, eventSequence: 99).isAhead(of: cursor))
    }

    /// A store written by the previous version (schema 8) is migrated and replicates from its first event.
    @Test func aVersion8StoreReplicatesEverythingItHas() async throws {
        let fixture = StoreFixture()
        do {
            let store = try fixture.open()
            _ = await store.ingest([
                request("old-1", .received(.init(lot: lot("RAW", "R1"), qty: qty(5)))),
                request("old-2", .received(.init(lot: lot("RAW", "R2"), qty: qty(5)))),
            ])
            store.close()
            try fixture.rawConnection().execute(
                """
                DROP TABLE store_identity; DROP TABLE replication_cursor; DROP TABLE plant_events; DROP TABLE hub_plants;
                DROP TABLE plant_holds; DROP TABLE hub_dead_letters;
                DROP TABLE hub_hold_fanout; DROP TABLE hub_hold_deliveries; DROP TABLE enterprise_holds; DROP TABLE corrections;
                DROP TABLE exception_counts; DROP TRIGGER exception_states_counted;
                DROP TRIGGER exception_states_recounted; DROP TRIGGER exception_states_uncounted; DROP INDEX exceptions_unclosed; DROP INDEX exceptions_unclosed_by_key;
                DROP INDEX exceptions_by_sequence; DROP INDEX outbox_by_exception;
                DROP TABLE master_revisions; DROP TABLE master_items;
                CREATE UNIQUE INDEX edges_order_output ON edges (from_node, to_node) WHERE kind = 'order_output';
                CREATE INDEX outbox_by_document ON outbox (document_key, id); DROP INDEX nodes_held;
                CREATE TRIGGER outbox_counted AFTER INSERT ON outbox BEGIN
                    INSERT INTO status_counts (name, key, n) VALUES ('outbox', NEW.state, 1)
                        ON CONFLICT (name, key) DO UPDATE SET n = n + 1;
                END;
                CREATE TRIGGER held_counted AFTER INSERT ON nodes WHEN NEW.status = 'held' BEGIN
                    INSERT INTO status_counts (name, key, n) VALUES ('held', '', 1)
                        ON CONFLICT (name, key) DO UPDATE SET n = n + 1;
                END;
                DELETE FROM schema_migrations WHERE version >= 9; PRAGMA user_version = 8
                """)
        }
        let store = try fixture.open()
        defer { store.close() }
        #expect(try store.count("PRAGMA user_version") == Migrations.latestVersion)
        let log = try ReplicationLog(path: fixture.path)
        #expect(try log.storeID().count == 32)
        let ids = try log.entries(after: log.cursor(stream: "S"), limit: 10).records.compactMap { record -> String? in
            if case .event(let e) = record.change { e.eventID } else { nil }
        }
        #expect(ids == ["old-1", "old-2"])
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

@Suite struct PlantEventTests {
    func fromPlant(_ plant: String, _ sequence: Int64, _ id: String, _ body: EventBody) -> IngestRequest {
        var r = request(id, body)
        r.origin = EventOrigin(plant: plant, sequence: sequence, recordedAtMs: 1_750_000_000_500)
        return r
    }

    @Test func aPlantEventIsStoredOncePerPlantAndSequence() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let received = EventBody.received(.init(lot: lot("RAW", "R1"), qty: qty(5), supplier: "Acme"))
        let first = await store.ingest(fromPlant("PLANT-A", 7, "ev-1", received))
        let again = await store.ingest(fromPlant("PLANT-A", 7, "ev-1", received))
        let otherPlant = await store.ingest(fromPlant("PLANT-B", 7, "ev-1", received))
        guard case .accepted(let a) = first, case .duplicate(let d) = again, case .accepted(let b) = otherPlant else {
            Issue.record("outcomes \(first) \(again) \(otherPlant)")
            return
        }
        #expect(a == d && a != b)
        #expect(try store.count("SELECT count(*) FROM events") == 2)
        #expect(
            try store.rows("SELECT event_id FROM events ORDER BY sequence").map { "\($0[0])" }
                == ["text(\"PLANT-A/ev-1\")", "text(\"PLANT-B/ev-1\")"])
        #expect(
            try store.count("SELECT count(*) FROM plant_events WHERE plant = 'PLANT-A' AND plant_sequence = 7") == 1)
        // One lot: the same (product, lot) in two plants is one node.
        #expect(try store.count("SELECT count(*) FROM nodes WHERE kind = 'lot'") == 1)
        // The hub posts nothing to Odoo: the plants do.
        #expect(try store.count("SELECT count(*) FROM outbox") == 0)
        try fixture.expectAuditIntact()
    }

    @Test func aHoldAtTheHubDoesNotRefuseWhatAPlantHasShipped() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest(fromPlant("PLANT-A", 1, "r1", .received(.init(lot: lot("RAW", "R1"), qty: qty(5)))))
        #expect(await store.placeHold(HoldRequest(lot: lot("RAW", "R1"), reason: "recall"), by: "qa") != .notFound)
        let shipped = await store.ingest(
            fromPlant(
                "PLANT-A", 2, "s1", .shipped(.init(lot: lot("RAW", "R1"), qty: qty(5), customer: "C1", delivery: "D1")))
        )
        guard case .accepted = shipped else {
            Issue.record("a plant's shipment was \(shipped)")
            return
        }
        // The same shipment sent to the hub directly (not from a plant) is refused.
        let direct = await store.ingest(
            request("s2", .shipped(.init(lot: lot("RAW", "R1"), qty: qty(5), customer: "C1", delivery: "D2"))))
        if case .accepted = direct { Issue.record("a direct shipment of a held lot was stored") }
        try fixture.expectAuditIntact()
    }

    /// A plant's void and replacement, applied at the hub to its copies of the plant's events: the
    /// void's link is gone from the hub's graph, the replacement's is there, each correction is kept
    /// once under the plant's person, reason and time, and one naming an event the hub does not hold
    /// is answered `missing`.
    @Test func aPlantCorrectionTakesBackTheHubsCopyOnce() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let events = CorrectionTests.Events()
        let consumed = { (id: String, into: String) in
            EventBody.consumed(.init(component: lot("STEEL", "S1"), qty: qty(5), into: lot("BR", into)))
        }
        for (sequence, r) in events.add([
            fromPlant("PLANT-A", 1, "r1", .received(.init(lot: lot("STEEL", "S1"), qty: qty(100)))),
            fromPlant("PLANT-A", 2, "c1", consumed("c1", "B1")),
            fromPlant("PLANT-A", 3, "c2", consumed("c2", "WRONG")),
            fromPlant("PLANT-A", 4, "c2.fix", consumed("c2.fix", "B2")),
        ]).enumerated() {
            guard case .accepted = await store.ingest(r) else { Issue.record("event \(sequence) not stored"); return }
        }
        func inputs(_ output: String) throws -> Int {
            try store.count(
                """
                SELECT count(*) FROM edges e JOIN nodes t ON t.id = e.to_node
                WHERE t.product = 'BR' AND t.lot = ?1 AND e.kind = 'direct'
                """, [.text(output)])
        }
        #expect(try inputs("B1") == 1 && inputs("WRONG") == 1 && inputs("B2") == 1)

        let void = ReplicatedCorrection(
            id: 1, sequence: 2, replacementSequence: nil, reason: "double scan", by: "ana", atMs: 1_750_000_001_000)
        guard case .applied(let voided) = await store.applyPlantCorrection(void, from: "PLANT-A", decode: events.decode)
        else {
            Issue.record("the void was not applied")
            return
        }
        #expect(voided.isVoid && voided.eventID == "PLANT-A/c1" && voided.by == "ana" && voided.reason == "double scan")
        #expect(voided.atMs == 1_750_000_001_000)
        #expect(try inputs("B1") == 0)

        let replaced = ReplicatedCorrection(
            id: 2, sequence: 3, replacementSequence: 4, reason: "wrong pallet", by: "ben", atMs: 9)
        guard
            case .applied(let correction) = await store.applyPlantCorrection(
                replaced, from: "PLANT-A", decode: events.decode)
        else {
            Issue.record("the replacement was not applied")
            return
        }
        #expect(correction.replacementEventID == "PLANT-A/c2.fix")
        #expect(try inputs("WRONG") == 0 && inputs("B2") == 1)

        // Delivered again: nothing changes.
        guard
            case .appliedBefore(let before) = await store.applyPlantCorrection(
                void, from: "PLANT-A", decode: events.decode)
        else {
            Issue.record("a second delivery was applied again")
            return
        }
        #expect(before.id == voided.id)
        #expect(try store.count("SELECT count(*) FROM corrections") == 2)
        // What the hub does not hold is named, and changes nothing.
        var unknown = void
        unknown.sequence = 99
        var unknownReplacement = replaced
        unknownReplacement.sequence = 1
        unknownReplacement.replacementSequence = 98
        for (correction, names) in [(unknown, "its event 99"), (unknownReplacement, "its replacement 98")] {
            let outcome = await store.applyPlantCorrection(correction, from: "PLANT-A", decode: events.decode)
            guard case .missing(let reason) = outcome else {
                Issue.record("\(outcome)")
                continue
            }
            #expect(reason.contains(names) && reason.contains("plant PLANT-A"), "\(reason)")
        }
        #expect(try store.count("SELECT count(*) FROM corrections") == 2)
        try fixture.expectAuditIntact()
    }
}

@Suite struct HubLedgerTests {
    @Test func aPlantIsReplicatedByOneStoreAndItsHoldsAndDeadLettersAreKept() throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let ledger = try HubLedger(path: fixture.path)
        #expect(try ledger.admit(plant: "PLANT-A", storeID: "s1", nowMs: 1) == nil)
        #expect(try ledger.admit(plant: "PLANT-A", storeID: "s1", nowMs: 2) == nil)
        let refused = try ledger.admit(plant: "PLANT-A", storeID: "s2", nowMs: 3)
        #expect(refused?.contains("plant PLANT-A is replicated by store s1; this message comes from store s2") == true)
        try ledger.applied(plant: "PLANT-A", through: 5, count: 5, nowMs: 4)
        try ledger.applied(plant: "PLANT-A", through: 3, count: 0, nowMs: 5)
        let hold = HoldRequest(lot: LotRef(product: "RAW", lot: "R1"), reason: "odour")
        try ledger.placed(plant: "PLANT-A", holdID: 1, request: hold, by: "qa", atMs: 6)
        try ledger.placed(plant: "PLANT-A", holdID: 1, request: hold, by: "qa", atMs: 6)
        try ledger.placed(plant: "PLANT-A", holdID: 2, request: hold, by: "qa", atMs: 7)
        try ledger.released(plant: "PLANT-A", holdID: 2, reason: "ok", by: "qa2", atMs: 8)
        try ledger.deadLetter(
            HubDeadLetter(
                plant: "PLANT-A", stream: "MESGATE_PLANT_PLANT-A", streamSequence: 9, reason: "no Mesgate-Store header",
                headers: "Mesgate-Plant: PLANT-A", body: [1, 2], atMs: 9))
        let plants = try ledger.plants()
        #expect(plants.count == 1)
        #expect(plants.first?.storeID == "s1" && plants.first?.lastSequence == 5 && plants.first?.applied == 5)
        #expect(plants.first?.openHolds == 1 && plants.first?.deadLetters == 1)
        #expect(try ledger.deadLetters(limit: 5).map(\.reason) == ["no Mesgate-Store header"])
    }
}

extension GenealogyStore {
    /// `applyPlantCorrection`, awaiting the outcome.
    func applyPlantCorrection(
        _ correction: ReplicatedCorrection, from plant: String, decode: @escaping @Sendable ([UInt8]) -> Event?
    ) async -> PlantCorrectionOutcome {
        await withCheckedContinuation { done in
            applyPlantCorrection(correction, from: plant, decode: decode) { done.resume(returning: $0) }
        }
    }
}
