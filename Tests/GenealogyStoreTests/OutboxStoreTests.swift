import GenealogyStore
import MESDomain
import Testing

@Suite struct OutboxStoreTests {
    /// A store with a scrap (normal), two productions of one order (batch) and a downtime (immediate).
    func filled() async throws -> (StoreFixture, GenealogyStore, OutboxStore, [Int64]) {
        let fixture = StoreFixture()
        let store = try fixture.open()
        let outcomes = await store.ingest([
            request("s1", workOrder: "MO1", .scrapped(.init(lot: lot("STEEL", "L1"), qty: qty(1)))),
            request("p1", workOrder: "MO1", .produced(.init(output: lot("BR", "B1"), good: qty(2, "Units")))),
            request("p2", workOrder: "MO1", .produced(.init(output: lot("BR", "B1"), good: qty(3, "Units")))),
            request("d1", .downtime(.init(reason: "jam", loss: .availability, startedAtMs: 1))),
        ])
        return (fixture, store, try OutboxStore(path: store.path), outcomes.compactMap(\.sequence))
    }

    @Test func dueRowsCarryTheEventAndTheOrderHasItsEvents() async throws {
        let (fixture, store, outbox, sequences) = try await filled()
        defer { store.close() }
        _ = fixture
        let due = try outbox.due(nowMs: .max, limit: 10)
        #expect(due.map(\.sequence) == sequences)
        #expect(due.map(\.latencyClass) == ["normal", "batch", "batch", "immediate"])
        #expect(due[1].documentKey == "work_order:MO1" && due[1].raw == Array("p1".utf8))
        #expect(try outbox.events(ofOrder: "MO1").map(\.sequence) == Array(sequences[0...2]))
        #expect(try outbox.orderNames() == ["MO1"])
        #expect(try outbox.due(nowMs: 0, limit: 10).isEmpty)
    }

    @Test func postedFailedDeadThenRetryReplayAndSkipAreAudited() async throws {
        let (fixture, store, outbox, sequences) = try await filled()
        defer { store.close() }
        _ = fixture
        let ids = try outbox.due(nowMs: .max, limit: 10).map(\.id)
        try outbox.markPosted([ids[0]], answer: "stock.scrap 7 done", nowMs: 10)
        try outbox.markFailed([ids[1], ids[2]], error: "retryable: transport", nextAttemptAtMs: 500, nowMs: 10)
        try outbox.markDead([ids[3]], error: "permanent: ValidationError", nowMs: 10)
        #expect(try outbox.counts() == ["posted": 1, "failed": 2, "dead": 1])
        #expect(try outbox.due(nowMs: 499, limit: 10).isEmpty)
        #expect(try outbox.due(nowMs: 500, limit: 10).map(\.id) == [ids[1], ids[2]])
        let failed = try #require(try outbox.entry(id: ids[1]))
        #expect(failed.attempts == 1 && failed.lastError == "retryable: transport")

        #expect(try outbox.retry(id: ids[3], actor: "ana", nowMs: 20) == 1)
        #expect(try outbox.entry(id: ids[3])?.state == "pending")
        #expect(
            try outbox.replay(first: sequences[0], last: sequences[0], actor: "ana", reason: "again", nowMs: 30) == 1)
        #expect(try outbox.entry(id: ids[0])?.state == "pending")
        #expect(try outbox.skip(id: ids[1], reason: "booked by hand", actor: "ana", nowMs: 40) == 1)
        #expect(try outbox.skip(id: ids[1], reason: "twice", actor: "ana", nowMs: 41) == 0)
        let skipped = try #require(try outbox.entry(id: ids[1]))
        #expect(skipped.state == "skipped" && skipped.skippedReason == "booked by hand")
        #expect(try store.count("SELECT count(*) FROM outbox_audit") == 4)
        #expect(try store.count("SELECT count(*) FROM outbox_audit WHERE action = 'skip' AND rows = 0") == 1)
    }

    @Test func aRowSkippedWhileThePosterHadItStaysSkipped() async throws {
        let (fixture, store, outbox, _) = try await filled()
        defer { store.close() }
        _ = fixture
        let ids = try outbox.due(nowMs: .max, limit: 10).map(\.id)
        // The poster took both rows; a person skips them before the poster records its attempt.
        #expect(try outbox.skip(id: ids[0], reason: "booked by hand", actor: "ana", nowMs: 5) == 1)
        #expect(try outbox.skip(id: ids[1], reason: "booked by hand", actor: "ana", nowMs: 5) == 1)
        try outbox.markFailed([ids[0]], error: "retryable: transport", nextAttemptAtMs: 500, nowMs: 10)
        try outbox.markDead([ids[1]], error: "permanent: ValidationError", nowMs: 10)
        for id in ids[0...1] {
            let entry = try #require(try outbox.entry(id: id))
            #expect(entry.state == "skipped" && entry.skippedReason == "booked by hand" && entry.attempts == 0)
        }
    }

    /// A skipped row is never due, its event leaves its order's totals, "retry all" leaves it, and
    /// retrying it by id brings it (and its event) back.
    @Test func aSkippedRowLeavesItsOrderUntilRetried() async throws {
        let (fixture, store, outbox, sequences) = try await filled()
        defer { store.close() }
        _ = fixture
        let ids = try outbox.due(nowMs: .max, limit: 10).map(\.id)
        try outbox.markPosted([ids[0]], answer: "stock.scrap 7 done", nowMs: 10)
        try outbox.markDead([ids[1]], error: "permanent: ValidationError", nowMs: 10)
        // Posted rows are not skipped; dead ones are.
        #expect(try outbox.skip(id: ids[0], reason: "late", actor: "ana", nowMs: 20) == 0)
        #expect(try outbox.skip(id: ids[1], reason: "wrong lot", actor: "ana", nowMs: 20) == 1)
        #expect(try outbox.counts() == ["posted": 1, "skipped": 1, "pending": 2])
        #expect(try outbox.list(states: ["skipped"], limit: 10).map(\.id) == [ids[1]])
        #expect(!(try outbox.due(nowMs: .max, limit: 10).map(\.id).contains(ids[1])))
        #expect(try outbox.events(ofOrder: "MO1").map(\.sequence) == [sequences[0], sequences[2]])
        #expect(try outbox.skippedEvents(ofOrder: "MO1").map(\.sequence) == [sequences[1]])
        // A later posting that resolves dead rows does not touch it.
        try outbox.markResolved([ids[1]], note: "resolved by the posting of #9", nowMs: 25)
        #expect(try outbox.entry(id: ids[1])?.state == "skipped")
        #expect(try outbox.retry(id: nil, actor: "ana", nowMs: 30) == 0)
        #expect(try outbox.retry(id: ids[1], actor: "ana", nowMs: 40) == 1)
        let retried = try #require(try outbox.entry(id: ids[1]))
        #expect(retried.state == "pending" && retried.skippedReason.isEmpty && retried.nextAttemptAtMs == 40)
        #expect(try outbox.events(ofOrder: "MO1").map(\.sequence) == Array(sequences[0...2]))
        #expect(try outbox.skippedEvents(ofOrder: "MO1").isEmpty)
        #expect(try store.count("SELECT n FROM status_counts WHERE name = 'outbox' AND key = 'skipped'") == 0)
    }

    @Test func holdsQueueAnImmediateRowWhenPlacedAndWhenReleased() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest([
            request("r1", .received(.init(lot: lot("RAW", "R1"), qty: qty(5)))),
            request("c1", workOrder: "MO1", .consumed(.init(component: lot("RAW", "R1"), qty: qty(2)))),
            request("p1", workOrder: "MO1", .produced(.init(output: lot("FG", "F1"), good: qty(1, "Units")))),
        ])
        let outbox = try OutboxStore(path: store.path)
        try outbox.markPosted(try outbox.due(nowMs: .max, limit: 10).map(\.id), answer: "ok", nowMs: 1)
        #expect(await store.placeHold(HoldRequest(lot: lot("RAW", "R1"), reason: "recall"), by: "qa") != .notFound)
        let placed = try outbox.due(nowMs: .max, limit: 10)
        #expect(placed.map(\.kind) == ["hold"] && placed.map(\.latencyClass) == ["immediate"])
        let row = try #require(placed.first)
        #expect(row.holdID > 0 && row.sequence == 0 && row.eventID == "hold:\(row.holdID)" && row.raw.isEmpty)
        #expect(row.documentKey == "hold:\(row.holdID)")
        let hold = try #require(try outbox.hold(id: row.holdID))
        #expect(hold.items.map { "\($0.product)/\($0.name)" } == ["RAW/R1", "FG/F1"])
        #expect(hold.reason == "recall" && hold.placedBy == "qa" && hold.releasedAtMs == nil)
        #expect(try outbox.hold(id: row.holdID + 100) == nil)

        #expect(await store.releaseHold(HoldRequest(lot: lot("RAW", "R1"), reason: "cleared"), by: "qa") != .noOpenHold)
        #expect(try outbox.due(nowMs: .max, limit: 10).map(\.kind) == ["hold", "release"])
        let released = try #require(try outbox.hold(id: row.holdID))
        #expect(released.releasedAtMs != nil && released.releasedBy == "qa" && released.releaseReason == "cleared")
        // A failed placement leaves no row: the hold's transaction carries both.
        #expect(await store.placeHold(HoldRequest(lot: lot("RAW", "NOPE"), reason: ""), by: "qa") == .notFound)
        #expect(try store.count("SELECT count(*) FROM outbox WHERE hold_id IS NOT NULL") == 2)
    }

    @Test func deadRowsOfADocumentAreFoundAndResolvedWithANote() async throws {
        let (fixture, store, outbox, _) = try await filled()
        defer { store.close() }
        _ = fixture
        let ids = try outbox.due(nowMs: .max, limit: 10).map(\.id)
        try outbox.markDead(ids, error: "permanent: refused", nowMs: 10)
        let dead = try outbox.dead(documentKey: "work_order:MO1", kinds: ["produced", "consumed"])
        #expect(dead.map(\.id) == [ids[1], ids[2]])
        #expect(try outbox.dead(documentKey: "work_order:MO2", kinds: ["produced"]).isEmpty)
        try outbox.markResolved([ids[1], ids[2]], note: "resolved by the posting of #9", nowMs: 20)
        #expect(try outbox.counts() == ["dead": 2, "resolved": 2])
        #expect(try outbox.entry(id: ids[1])?.resolvedNote == "resolved by the posting of #9")
        #expect(try outbox.list(states: ["dead"], limit: 10).map(\.id) == [ids[0], ids[3]])
        // Resolved rows are not retried by "retry all".
        #expect(try outbox.retry(id: nil, actor: "ana", nowMs: 30) == 2)
        #expect(try outbox.entry(id: ids[2])?.state == "resolved")
    }
}
