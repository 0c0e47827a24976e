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
        #expect(skipped.state == "posted" && skipped.skippedReason == "booked by hand")
        #expect(try store.count("SELECT count(*) FROM outbox_audit") == 4)
        #expect(try store.count("SELECT count(*) FROM outbox_audit WHERE action = 'skip' AND rows = 0") == 1)
    }
}
