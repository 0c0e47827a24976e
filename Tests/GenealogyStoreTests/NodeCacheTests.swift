import Foundation
import GenealogySchema
import MESDomain
import SQLite
import Testing

@testable import GenealogyStore

/// The writer's memory of nodes (`NodeCache`) and of its outbox count (`OutboxTally`) must never
/// make the store differ from what it would be without them.
@Suite struct NodeCacheTests {
    /// A rolled-back event made a node the cache took in; SQLite gives the same id to the next
    /// node made. A later event naming the rolled-back lot must get a node of its own, not that one.
    @Test func aNodeOfARolledBackEventIsForgotten() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open { $0.holdOnQualityFail = true }
        defer { store.close() }
        do {
            let db = try fixture.rawConnection()
            try db.execute(
                "CREATE TRIGGER refuse_hold BEFORE INSERT ON holds BEGIN SELECT RAISE(ABORT, 'no'); END")
        }
        let outcomes = await store.ingestInOneBatch([
            // Makes node RAW/GONE, then fails on the hold its failed check places: rolled back.
            request("q", .quality(.init(lot: lot("RAW", "GONE"), check: "MFI", outcome: .fail))),
            // Makes RAW/OTHER, which takes the id GONE had.
            request("c1", workOrder: "MO1", .consumed(.init(component: lot("RAW", "OTHER"), qty: qty(1)))),
            // Names GONE again.
            request("c2", workOrder: "MO1", .consumed(.init(component: lot("RAW", "GONE"), qty: qty(1)))),
        ])
        #expect(outcomes.map { $0.sequence != nil } == [false, true, true])
        let named = try store.rows(
            """
            SELECT n.lot FROM event_nodes en JOIN events e ON e.sequence = en.sequence
            JOIN nodes n ON n.id = en.node_id WHERE e.event_id = 'c2' AND en.role = 'component'
            """)
        #expect(named == [[.text("GONE")]])
        #expect(try store.count("SELECT count(*) FROM nodes WHERE kind = 'lot'") == 2)
    }

    /// Another connection (a tool's writer beside the server) changes a node the cache holds: the
    /// next batch must see the change. Here the lot, first met as unknown, is received elsewhere;
    /// naming it again must not raise a second `unknown_lot`.
    @Test func aChangeByAnotherConnectionIsSeen() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest(
            request("c1", workOrder: "MO1", .consumed(.init(component: lot("RAW", "LATE"), qty: qty(1)))))
        let unknownSQL = "SELECT count(*) FROM exceptions WHERE kind = 'unknown_lot'"
        #expect(try store.count(unknownSQL) == 1)
        do {
            let db = try fixture.rawConnection()
            try db.execute("UPDATE nodes SET origin = 'received' WHERE kind = 'lot' AND lot = 'LATE'")
        }
        _ = await store.ingest(
            request("c2", workOrder: "MO1", .consumed(.init(component: lot("RAW", "LATE"), qty: qty(1)))))
        #expect(try store.count(unknownSQL) == 1)
    }

    /// Names are told apart by their bytes, as SQLite does: "Ä" as one scalar and as "A" with a
    /// combining diaeresis are two lots (Swift's `==` on `String` takes them as one).
    @Test func canonicallyEquivalentNamesAreTwoNodes() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let composed = "L-\u{00C4}"
        let decomposed = "L-A\u{0308}"
        #expect(composed == decomposed)  // what the cache must not rely on
        let outcomes = await store.ingestInOneBatch([
            request("r", .received(.init(lot: lot("RAW", composed), qty: qty(5), supplier: "ACME"))),
            request("c", workOrder: "MO1", .consumed(.init(component: lot("RAW", decomposed), qty: qty(1)))),
        ])
        #expect(outcomes.allSatisfy { $0.sequence != nil })
        #expect(try store.count("SELECT count(*) FROM nodes WHERE kind = 'lot' AND product = 'RAW'") == 2)
        // The consumption names a lot nobody received.
        #expect(try store.count("SELECT count(*) FROM exceptions WHERE kind = 'unknown_lot'") == 1)
    }

    /// An EPCIS import records a supplier's events and deletes the outbox rows they made, in one
    /// transaction: on a store that never had a pending row, the count must still end at the rows.
    @Test func outboxRowsDeletedInTheirTransactionAreNotCounted() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let batch = EPCISImportBatch(
            requests: [
                request("s-r", .received(.init(lot: lot("RAW", "S1"), qty: qty(5), supplier: "ACME"))),
                request("s-c", workOrder: "SUP/1", .consumed(.init(component: lot("RAW", "S1"), qty: qty(1)))),
            ],
            documentSHA256: "sha", client: "supplier", raw: [], epcisEvents: 2)
        guard case .stored = await store.importEPCIS(batch) else {
            Issue.record("not imported")
            return
        }
        #expect(try store.count("SELECT count(*) FROM outbox") == 0)
        #expect((try store.statusCounts().outbox["pending"] ?? 0) == 0)
    }

    /// Migration 16 edits constraint text in sqlite_master, which SQLite's defensive mode forbids:
    /// the migrator turns it off for the migrations and back on after.
    @Test func migrationsRunOnADefensiveConnection() throws {
        let fixture = StoreFixture()
        try MigrationTests.writeVersion14Store(to: fixture)
        // The control: with defensive mode on, migration 16's SQL itself is refused.
        do {
            let db = try SQLiteConnection(path: fixture.path)
            try db.setDefensive(true)
            #expect(db.isDefensive)
            let sixteen = try #require(Migrations.all.first { $0.version == 16 })
            try db.execute("BEGIN IMMEDIATE")
            #expect(throws: SQLiteError.self) { try db.execute(sixteen.sql) }
            try db.execute("ROLLBACK")
        }
        let db = try SQLiteConnection(path: fixture.path)
        try db.setDefensive(true)
        let migrator = SchemaMigrator(db: db, migrations: Migrations.all, nowMs: 1)
        try migrator.migrate(from: try migrator.check())
        #expect(db.isDefensive)
        #expect(try db.scalar("PRAGMA user_version") == .integer(Int64(Migrations.latestVersion)))
        #expect(
            try db.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND sql LIKE '% IN (%'")
                == .integer(0))
    }
}
