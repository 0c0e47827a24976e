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
        try file.seek(toOffset: UInt64((page - 1) * pageSize + offset(pageSize)))
        file.write(Data(count: 64))
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

    @Test func damagedEventsTablePageIsFound() async throws {
        let fixture = try await Self.store(events: 3_000)
        // The page header and cell pointers.
        try Self.zero(fixture, tree: "events", leaf: 5) { _ in 0 }

        #expect(!(try StoreIntegrity.check(path: fixture.path, depth: .quick).intact))
        #expect(!(try StoreIntegrity.check(path: fixture.path, depth: .full).intact))
        let verification = try AuditTrail(path: fixture.path).verify()
        #expect(verification.problem?.kind == .damaged)
    }

    /// The time limit stops a check and says so (the serve start-up check is bounded by it). The
    /// interrupt comes from a timer thread, which a busy machine may run late: up to 20 tries.
    @Test func timeLimitStopsTheCheck() async throws {
        let fixture = try await Self.store(events: 3_000)
        var stopped: IntegrityReport?
        for _ in 0..<20 where stopped == nil {
            let report = try StoreIntegrity.check(path: fixture.path, depth: .full, timeLimit: .microseconds(1))
            if !report.finished { stopped = report }
        }
        let report = try #require(stopped)
        #expect(report.intact)
    }
}
