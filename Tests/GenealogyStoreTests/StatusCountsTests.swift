import Foundation
import GenealogySchema
import MESDomain
import SQLite
import Testing

@testable import GenealogyStore

/// /metrics reads `StatusCounts`: its figures must agree with the tables, and its cost must not
/// grow with them (it used to count whole tables at every scrape).
@Suite struct StatusCountsTests {
    /// `n` consumptions of unknown lots: each stores an outbox row and an exception.
    static func consumptions(_ n: Int, prefix: String) -> [IngestRequest] {
        (0..<n).map { i in
            request(
                "\(prefix)-\(i)", workOrder: "MO-\(i % 7)",
                .consumed(.init(component: lot("RAW", "\(prefix)-\(i)"), qty: qty(1))))
        }
    }

    @Test func countsAgreeWithTheTables() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest(TraceTests.plant() + Self.consumptions(20, prefix: "c"))
        guard case .changed = await store.placeHold(HoldRequest(lot: lot("RAW", "R2"), reason: "recall"), by: "qa")
        else { Issue.record("hold not placed"); return }
        let counts = try store.statusCounts()
        #expect(counts.outbox == (try store.outboxCounts()))
        #expect(counts.outbox.values.reduce(0, +) > 20)
        #expect(counts.exceptions == (try store.exceptionCounts()))
        #expect(counts.held == (try store.heldNodeCount()) && counts.held == 5)
        let oldest = try store.count("SELECT min(created_at_ms) FROM outbox WHERE state IN ('pending', 'failed')")
        #expect(counts.oldestWaitingOutboxMs == Int64(oldest))
        _ = await store.releaseHold(HoldRequest(lot: lot("RAW", "R2"), reason: "ok"), by: "qa")
        #expect(try store.statusCounts().held == 0)
    }

    /// The writer counts its events' outbox rows once per transaction (migration 15): what a
    /// rolled-back event counted is taken back with it. One batch holds stored events, an event
    /// that fails inside the store after its outbox row was inserted and counted (a failed quality
    /// check whose hold a trigger refuses: its savepoint is rolled back), a refused shipment of a
    /// held lot and a duplicate; the count must still equal the rows.
    @Test func aRolledBackEventTakesBackItsOutboxCount() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open { $0.holdOnQualityFail = true }
        defer { store.close() }
        _ = await store.ingest(TraceTests.plant())
        guard case .changed = await store.placeHold(HoldRequest(lot: lot("RAW", "R2"), reason: "recall"), by: "qa")
        else { Issue.record("hold not placed"); return }
        do {
            let db = try fixture.rawConnection()
            try db.execute(
                "CREATE TRIGGER refuse_hold BEFORE INSERT ON holds WHEN NEW.reason LIKE '%event bad)' BEGIN SELECT RAISE(ABORT, 'no'); END"
            )
        }
        let before = try store.count("SELECT count(*) FROM outbox WHERE sequence IS NOT NULL")
        let outcomes = await store.ingestInOneBatch(
            Self.consumptions(3, prefix: "ok") + [
                request("bad", .quality(.init(lot: lot("RAW", "R1"), check: "MFI", outcome: .fail))),
                request("ship", .shipped(.init(lot: lot("RAW", "R2"), qty: nil, customer: "C1"))),
                request("ok-0", workOrder: "MO-0", .consumed(.init(component: lot("RAW", "ok-0"), qty: qty(1)))),
            ] + Self.consumptions(2, prefix: "late"))
        #expect(outcomes.map { $0.sequence != nil } == [true, true, true, false, false, true, true, true])
        // Five consumptions stored, and the operation `ingestInOneBatch` holds the writer with.
        #expect(try store.count("SELECT count(*) FROM outbox WHERE sequence IS NOT NULL") == before + 6)
        #expect(try store.statusCounts().outbox == (try store.outboxCounts()))
    }

    /// The virtual-machine steps of the /metrics reads on a store of 10 events and on one of
    /// 3,000: the same. The control (today's GROUP BY over the outbox) grows, so the measure can fail.
    @Test func costDoesNotGrowWithTheStore() async throws {
        func measure(_ events: Int) async throws -> (counts: Int, control: Int) {
            let fixture = StoreFixture()
            let store = try fixture.open()
            defer { store.close() }
            _ = await store.ingest(Self.consumptions(events, prefix: "m"))
            #expect(try store.count("SELECT count(*) FROM outbox") == events)
            return try store.read { db in
                let steps = try StatusCounts.read(db).steps
                let control = try db.prepare("SELECT state, count(*) FROM outbox GROUP BY state")
                try control.query { _ in }
                return (steps, control.virtualMachineSteps)
            }
        }
        let small = try await measure(10)
        let large = try await measure(3_000)
        #expect(large.control > small.control * 100)  // the measure sees a table scan
        #expect(large.counts == small.counts)
        #expect(large.counts < 100)
    }

    /// A store made by the previous schema (version 7) gets its counts from its rows when migrated,
    /// and keeps them right afterwards.
    @Test func version7StoreIsCountedWhenMigrated() async throws {
        let fixture = StoreFixture()
        do {
            let db = try fixture.rawConnection(migratedTo: 7)
            try db.execute(
                """
                INSERT INTO events (sequence, event_id, kind, occurred_at_ms, raw, recorded_at_ms)
                VALUES (1, 'e1', 'scrapped', 0, x'', 0), (2, 'e2', 'scrapped', 0, x'', 0), (3, 'e3', 'scrapped', 0, x'', 0);
                INSERT INTO outbox (id, sequence, kind, document_key, latency_class, state, next_attempt_at_ms,
                  created_at_ms, updated_at_ms)
                VALUES (1, 1, 'scrapped', 'work_order:MO1', 'normal', 'posted', 0, 10, 0),
                       (2, 2, 'scrapped', 'work_order:MO1', 'normal', 'dead', 0, 20, 0),
                       (3, 3, 'scrapped', 'work_order:MO1', 'normal', 'pending', 0, 30, 0);
                INSERT INTO nodes (id, kind, product, lot, origin, status, first_sequence)
                VALUES (1, 'lot', 'RAW', 'L1', 'received', 'held', 1), (2, 'lot', 'RAW', 'L2', 'received', 'active', 1);
                INSERT INTO exceptions (kind, sequence, created_at_ms) VALUES ('unknown_lot', 1, 0), ('unknown_lot', 2, 0);
                INSERT INTO outbox_audit (action, outbox_id, rows, at_ms) VALUES ('retry', 2, 1, 0);
                """)
        }
        let store = try fixture.open()
        defer { store.close() }
        var counts = try store.statusCounts()
        #expect(counts.outbox == ["posted": 1, "dead": 1, "pending": 1])
        #expect(counts.exceptions == ["unknown_lot": 2])
        // Version 14 makes them open exceptions, in place.
        #expect(counts.openExceptions == ["unknown_lot": 2] && counts.acknowledgedExceptions.isEmpty)
        #expect(try store.exceptionList(limit: 10).map(\.state) == [.open, .open])
        #expect(counts.held == 1)
        #expect(counts.outboxCommands == ["retry": 1])
        #expect(counts.oldestWaitingOutboxMs == 30)
        _ = await store.ingest(Self.consumptions(3, prefix: "after"))
        counts = try store.statusCounts()
        #expect(counts.outbox == (try store.outboxCounts()))
        #expect(counts.exceptions == (try store.exceptionCounts()))
    }
}
