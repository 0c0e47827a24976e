import Foundation
import GenealogyStore
import MESDomain
import SQLite
import Testing

/// Damage written into a real store file, where a failing disk or a stray write would put it: a
/// page of the `event_id` index (what makes a re-sent event a duplicate), and a page of the events
/// table. SQLite's checks must find both, and `audit verify` must not call the store intact.
@Suite struct StoreIntegrityTests {
    /// A closed store of `events` consumptions (checkpointed: every page is in the file).
    static func store(events: Int) async throws -> StoreFixture {
        let fixture = StoreFixture()
        let store = try fixture.open()
        _ = await store.ingest(StatusCountsTests.consumptions(events, prefix: "d"))
        store.close()
        return fixture
    }

    /// Writes 64 zero bytes at `offset` of the `n`th leaf page of `tree` (a table or index name).
    static func zero(_ fixture: StoreFixture, tree: String, leaf n: Int = 1, offset: (Int) -> Int) throws {
        try zero(fixture, tree: tree, leaf: n, bytes: 64) { offset($0.count) }
    }

    /// Writes `bytes` zero bytes at `offset(page)` of the `n`th leaf page of `tree`.
    static func zero(_ fixture: StoreFixture, tree: String, leaf n: Int, bytes: Int, offset: ([UInt8]) -> Int)
        throws
    {
        let (page, pageSize) = try {
            let db = try SQLiteConnection(path: fixture.path, mode: .readOnly)
            let page = try db.prepare(
                "SELECT pageno FROM dbstat WHERE name = ?1 AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET ?2"
            ).first([.text(tree), .int(n)]) { $0.int(at: 0) }
            guard case .integer(let size) = try db.scalar("PRAGMA page_size") else { throw CancellationError() }
            return (try #require(page), Int(size))
        }()
        let file = try #require(FileHandle(forUpdatingAtPath: fixture.path))
        defer { try? file.close() }
        let start = UInt64((page - 1) * pageSize)
        try file.seek(toOffset: start)
        let content = Array(try #require(try file.read(upToCount: pageSize)))
        try file.seek(toOffset: start + UInt64(offset(content)))
        file.write(Data(count: bytes))
    }

    static let eventIDIndex = "sqlite_autoindex_events_1"

    @Test func damagedEventIDIndexIsFound() async throws {
        let fixture = try await Self.store(events: 3_000)
        #expect(try StoreIntegrity.check(path: fixture.path, depth: .full).intact)
        #expect(try AuditTrail(path: fixture.path).verify().intact)
        // Inside the cells, which SQLite fills from the end of the page.
        try Self.zero(fixture, tree: Self.eventIDIndex, leaf: 3) { $0 - 700 }

        let quick = try StoreIntegrity.check(path: fixture.path, depth: .quick, maxLines: 5, timeLimit: .seconds(30))
        #expect(!quick.intact && quick.finished)
        let full = try StoreIntegrity.check(path: fixture.path, depth: .full)
        #expect(!full.intact)
        let verification = try AuditTrail(path: fixture.path).verify()
        #expect(verification.problem?.kind == .damaged)
        #expect(verification.problem?.message.contains("damaged") == true)
    }

    /// One order → output edge per pair is kept by the writer since migration 17, not by an index:
    /// the full check reports a pair stored twice.
    @Test func anOrderOutputPairStoredTwiceIsFound() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        _ = await store.ingest(
            request("p1", workOrder: "MO1", .produced(.init(output: lot("BREAD", "B1"), good: qty(5, "pc")))))
        store.close()
        #expect(try StoreIntegrity.check(path: fixture.path, depth: .full).intact)
        let db = try fixture.rawConnection()
        try db.execute(
            """
            INSERT INTO edges (kind, from_node, to_node, qty, uom, work_order, sequence)
            SELECT kind, from_node, to_node, qty, uom, work_order, sequence FROM edges WHERE kind = 'order_output'
            """)
        let full = try StoreIntegrity.check(path: fixture.path, depth: .full)
        #expect(full.problems.count == 1)
        #expect(full.problems.first?.hasPrefix("order → output edge of nodes") == true)
        #expect(full.problems.first?.hasSuffix("stored 2 times") == true)
    }

    @Test func damagedEventsTablePageIsFound() async throws {
        let fixture = try await Self.store(events: 3_000)
        // The page header and cell pointers.
        try Self.zero(fixture, tree: "events", leaf: 5) { _ in 0 }

        #expect(!(try StoreIntegrity.check(path: fixture.path, depth: .quick).intact))
        #expect(!(try StoreIntegrity.check(path: fixture.path, depth: .full).intact))
        let verification = try AuditTrail(path: fixture.path).verify()
        #expect(verification.problem?.kind == .damaged)
    }

    /// Zeroes 16 bytes inside the text of one key of the `event_id` index (page structure
    /// untouched): quick_check passes, yet that event is no longer found by its id, so a re-send
    /// would be stored again. The start-up check (`quickAndEvents`) finds it.
    @Test func damagedKeyPassesQuickCheckButNotTheStartUpCheck() async throws {
        let fixture = StoreFixture()
        do {
            let store = try fixture.open()
            _ = await store.ingest(
                (0..<3_000).map { i in
                    request(
                        "an-event-id-long-enough-to-damage-inside-\(i)", workOrder: "MO-1",
                        .consumed(.init(component: lot("RAW", "K-\(i)"), qty: qty(1))))
                })
            store.close()
        }
        try Self.zero(fixture, tree: Self.eventIDIndex, leaf: 3, bytes: 16) { page in
            // The 11th cell: its pointer follows the 8-byte leaf header; then payload size, header
            // size and two serial types (one byte each here) before the key's text.
            let cell = Int(page[8 + 2 * 10]) << 8 | Int(page[8 + 2 * 10 + 1])
            return cell + 4 + 8
        }
        #expect(try StoreIntegrity.check(path: fixture.path, depth: .quick).intact)
        let startUp = try StoreIntegrity.check(path: fixture.path, depth: .quickAndEvents)
        #expect(!startUp.intact)
        #expect(startUp.summary().contains("sqlite_autoindex_events_1"))
        #expect(try AuditTrail(path: fixture.path).verify().problem?.kind == .damaged)
    }

    /// The time limit stops a check and says so (the serve start-up check is bounded by it). The
    /// interrupt comes from a timer thread, which a busy machine may run late: a store whose full
    /// check takes a while, and up to 50 tries.
    @Test func timeLimitStopsTheCheck() async throws {
        let fixture = try await Self.store(events: 10_000)
        var stopped: IntegrityReport?
        for _ in 0..<50 where stopped == nil {
            let report = try StoreIntegrity.check(path: fixture.path, depth: .full, timeLimit: .microseconds(1))
            if !report.finished { stopped = report }
        }
        let report = try #require(stopped)
        #expect(report.intact)
    }
}
