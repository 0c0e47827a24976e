import Foundation
import GenealogySchema
import GenealogyStore
import Gzip
import MESDomain
import SQLite
import Testing

@Suite struct MigrationTests {
    @Test func freshStoreIsMigratedAndInWAL() throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        #expect(try store.count("PRAGMA user_version") == Migrations.latestVersion)
        #expect(try store.count("PRAGMA application_id") == Int(Migrations.applicationID))
        #expect(try store.rows("PRAGMA journal_mode") == [[.text("wal")]])
        #expect(
            try store.rows("SELECT version, name FROM schema_migrations ORDER BY version")
                == Migrations.all.map { [.integer(Int64($0.version)), .text($0.name)] })
        #expect(Migrations.all.first?.name == "initial")
    }

    @Test func reopeningAppliesNothingTwiceAndKeepsData() async throws {
        let fixture = StoreFixture()
        var store = try fixture.open()
        _ = await store.ingest(request("e1", .received(.init(lot: lot("STEEL", "S1"), qty: qty(5)))))
        store.close()
        store.close()  // idempotent
        store = try fixture.open()
        defer { store.close() }
        #expect(try store.count("SELECT count(*) FROM schema_migrations") == Migrations.all.count)
        #expect(try store.eventCount() == 1)
    }

    /// Version 6 rebuilds the outbox: a store at version 3 keeps its rows (ids, states, answers)
    /// and its outbox_audit, and then takes hold rows.
    @Test func version3OutboxAndAuditSurviveTheRebuild() async throws {
        let fixture = StoreFixture()
        do {
            let db = try fixture.rawConnection(migratedTo: 3)
            try db.execute(
                """
                INSERT INTO events (sequence, event_id, kind, occurred_at_ms, tz_offset, plant, work_center,
                  operator_id, work_order, client, recorded_at_ms, raw)
                VALUES (7, 'e7', 'scrapped', 0, '', '', '', '', 'MO1', '', 0, x'');
                INSERT INTO outbox (id, sequence, kind, document_key, latency_class, state, attempts,
                  next_attempt_at_ms, last_error, created_at_ms, updated_at_ms, odoo_answer)
                VALUES (41, 7, 'scrapped', 'work_order:MO1', 'normal', 'dead', 3, 0, 'refused', 1, 2, 'refused');
                INSERT INTO outbox_audit (action, outbox_id, rows, reason, actor, at_ms)
                VALUES ('retry', 41, 1, '', 'ana', 5);
                """)
        }
        let store = try fixture.open()
        defer { store.close() }
        #expect(try store.count("PRAGMA user_version") == Migrations.latestVersion)
        #expect(
            try store.rows("SELECT id, sequence, hold_id, state, attempts, odoo_answer, resolved_note FROM outbox")
                == [[.integer(41), .integer(7), .null, .text("dead"), .integer(3), .text("refused"), .text("")]])
        #expect(try store.rows("SELECT outbox_id, actor FROM outbox_audit") == [[.integer(41), .text("ana")]])
        #expect(try store.count("PRAGMA foreign_key_check") == -1)  // no row: nothing points nowhere
        #expect(try store.count("SELECT count(*) FROM sqlite_temp_master") == 0)
    }

    /// Version 11 rebuilds the outbox with a `skipped` state: a store at version 10 keeps its rows,
    /// indexes, triggers and outbox_audit, its rows skipped the old way ('posted' with a reason)
    /// become 'skipped', and the counts /metrics reads follow.
    @Test func version10SkippedRowsBecomeSkipped() async throws {
        let fixture = StoreFixture()
        let before: [[SQLiteValue]]
        do {
            let db = try fixture.rawConnection(migratedTo: 10, foreignKeys: true)
            try db.execute(
                """
                INSERT INTO events (sequence, event_id, kind, occurred_at_ms, tz_offset, plant, work_center,
                  operator_id, work_order, client, recorded_at_ms, raw)
                VALUES (7, 'e7', 'scrapped', 0, '', '', '', '', 'MO1', '', 0, x''),
                  (8, 'e8', 'consumed', 0, '', '', '', '', 'MO1', '', 0, x''),
                  (9, 'e9', 'produced', 0, '', '', '', '', 'MO1', '', 0, x'');
                INSERT INTO outbox (id, sequence, kind, document_key, latency_class, state, attempts,
                  next_attempt_at_ms, last_error, created_at_ms, updated_at_ms, odoo_answer, skipped_reason,
                  posted_at_ms)
                VALUES (41, 7, 'scrapped', 'work_order:MO1', 'normal', 'posted', 3, 0, 'refused', 1, 2, 'refused',
                    'booked by hand', 5),
                  (42, 8, 'consumed', 'work_order:MO1', 'batch', 'posted', 1, 0, '', 1, 2, 'ok', '', 4),
                  (43, 9, 'produced', 'work_order:MO1', 'batch', 'dead', 2, 0, 'refused', 1, 2, 'refused', '', NULL);
                INSERT INTO outbox_audit (action, outbox_id, rows, reason, actor, at_ms)
                VALUES ('skip', 41, 1, 'booked by hand', 'ana', 5);
                """)
            before = try Self.outboxSchema(db)
        }
        let store = try fixture.open()
        defer { store.close() }
        #expect(try store.count("PRAGMA user_version") == Migrations.latestVersion)
        #expect(
            try store.rows(
                "SELECT id, state, skipped_reason, posted_at_ms, attempts, odoo_answer FROM outbox ORDER BY id")
                == [
                    [.integer(41), .text("skipped"), .text("booked by hand"), .null, .integer(3), .text("refused")],
                    [.integer(42), .text("posted"), .text(""), .integer(4), .integer(1), .text("ok")],
                    [.integer(43), .text("dead"), .text(""), .null, .integer(2), .text("refused")],
                ])
        #expect(
            try store.rows("SELECT outbox_id, action, actor FROM outbox_audit") == [
                [.integer(41), .text("skip"), .text("ana")]
            ])
        #expect(
            try store.rows("SELECT key, n FROM status_counts WHERE name = 'outbox' ORDER BY key")
                == [[.text("dead"), .integer(1)], [.text("posted"), .integer(1)], [.text("skipped"), .integer(1)]])
        #expect(try store.count("SELECT n FROM status_counts WHERE name = 'outbox_commands' AND key = 'skip'") == 1)
        // The same indexes and triggers as before, the table itself now allowing 'skipped'.
        let after = try store.read { db in try Self.outboxSchema(db) }
        // (Version 14 adds one index for the exception rows it allows; version 15 leaves the
        // insert trigger to rows without an event, which the writer counts per transaction;
        // version 18 drops outbox_by_document, which no query used; version 19 drops the insert
        // trigger, every writer counting its rows.)
        let changed: Set<SQLiteValue> = [
            .text("outbox"), .text("outbox_by_exception"), .text("outbox_counted"), .text("outbox_by_document"),
        ]
        #expect(after.filter { !changed.contains($0[0]) } == before.filter { !changed.contains($0[0]) })
        #expect(!after.contains { $0[0] == .text("outbox_counted") })
        #expect(try store.count("PRAGMA foreign_key_check") == -1)  // no row: nothing points nowhere
        #expect(try store.count("SELECT count(*) FROM sqlite_temp_master") == 0)
        // The triggers count again, and the CHECK still refuses states it does not know.
        let outbox = try OutboxStore(path: store.path)
        #expect(try outbox.skip(id: 43, reason: "wrong lot", actor: "ana", nowMs: 9) == 1)
        #expect(try store.count("SELECT n FROM status_counts WHERE name = 'outbox' AND key = 'skipped'") == 2)
        #expect(try store.count("SELECT n FROM status_counts WHERE name = 'outbox' AND key = 'dead'") == 0)
        let db = try SQLiteConnection(path: store.path)
        #expect(throws: SQLiteError.self) { try db.execute("UPDATE outbox SET state = 'lost' WHERE id = 42") }
    }

    /// Version 16 writes the tables' CHECK constraints without IN lists (SQLite builds a temporary
    /// B-tree for such a list at every insert): none is left, on a fresh store and on one migrated
    /// from version 14, and the constraints refuse what they refused before.
    @Test func checksHaveNoInListsAndStillRefuse() async throws {
        let fresh = StoreFixture()
        let store = try fresh.open()
        defer { store.close() }
        let old = StoreFixture()
        try Self.writeVersion14Store(to: old)
        let migrated = try old.open()
        defer { migrated.close() }
        for s in [store, migrated] {
            #expect(
                try s.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '% IN (%' ORDER BY name")
                    == [])
            #expect(try s.count("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND sql LIKE '%CHECK%'") >= 7)
            #expect(try s.rows("PRAGMA integrity_check") == [[.text("ok")]])
        }
        let db = try SQLiteConnection(path: migrated.path)
        #expect(throws: SQLiteError.self) { try db.execute("UPDATE nodes SET status = 'lost' WHERE id = 1") }
        #expect(throws: SQLiteError.self) { try db.execute("UPDATE edges SET kind = 'glued' WHERE id = 1") }
        #expect(throws: SQLiteError.self) { try db.execute("UPDATE outbox SET latency_class = 'later' WHERE id = 1") }
        try db.execute("UPDATE nodes SET quality = 'warn' WHERE id = 1")  // an allowed value still is
    }

    /// Writes `Fixtures/store-v14.sqlite.gz` (see `make-store.sh`) as the store of `fixture`.
    static func writeVersion14Store(to fixture: StoreFixture) throws {
        let gz = try Data(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("Fixtures/store-v14.sqlite.gz"))
        let bytes = try GzipDecompressor().decompress([UInt8](gz), maxOutputBytes: 64 << 20)
        _ = try fixture.rawConnection()  // makes the folder
        try Data(bytes).write(to: URL(fileURLWithPath: fixture.path))
    }

    /// A store the previous version wrote (schema 20, made by `Fixtures/make-store.sh 20` with the
    /// binaries of commit 7d80dd9: 300 events, a hold, a voided consumption, an audit entry per
    /// stored event) opens, migrates and verifies; the events stored after the upgrade go in by
    /// the run, the trail of both kinds verifies and names a changed event of either, and the
    /// replication log reads every event once, in order.
    @Test func storeWrittenByVersion20OpensMigratesAndVerifies() async throws {
        let fixture = StoreFixture()
        let gz = try Data(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("Fixtures/store-v20.sqlite.gz"))
        _ = try fixture.rawConnection()
        try Data(try GzipDecompressor().decompress([UInt8](gz), maxOutputBytes: 64 << 20)).write(
            to: URL(fileURLWithPath: fixture.path))
        let store = try fixture.open()
        #expect(try store.count("PRAGMA user_version") == Migrations.latestVersion)
        try fixture.expectAuditIntact()
        let oldEvents = try store.count("SELECT count(*) FROM events")
        #expect(oldEvents >= 300)
        #expect(try store.count("SELECT count(*) FROM audit_log WHERE subject LIKE 'event:%'") == oldEvents)
        let outcomes = await store.ingestInOneBatch(
            (0..<5).map { i in
                request("v21-\(i)", .received(.init(lot: lot("STEEL", "L-v21-\(i)"), qty: qty(1), supplier: "ACME")))
            })
        let sequences = outcomes.compactMap(\.sequence)
        #expect(sequences.count == 5)
        let all = try store.eventCount()
        store.close()
        let trail = try AuditTrail(path: fixture.path)
        let runs = try trail.entries(limit: 10_000).filter { $0.subject.hasPrefix("events:") }
        #expect(runs.last?.subject == "events:\(sequences[0])-\(sequences[4])")
        #expect(try trail.verify().problem == nil)

        let log = try ReplicationLog(path: fixture.path)
        var cursor = ReplicationCursor(auditID: 0, eventSequence: 0)
        var replicated: [Int64] = []
        var holds = 0
        var corrections = 0
        while true {
            let page = try log.entries(after: cursor, limit: 64)
            if page.through == cursor { break }
            for record in page.records {
                switch record.change {
                case .event(let event): replicated.append(event.sequence)
                case .holdPlaced, .holdReleased: holds += 1
                case .correction: corrections += 1
                }
            }
            cursor = page.through
        }
        #expect(replicated == Array(1...Int64(all)) && holds == 1)
        // The void the old version made (make-store.sh) travels too: its entry is the same.
        #expect(corrections == 1)
        // A cursor the previous version saved (the entry of event 150, and event 150) goes on with
        // event 151, through the old entries and the run, each event once.
        let saved = try #require(
            try SQLiteConnection(path: fixture.path).prepare(
                "SELECT id FROM audit_log WHERE subject LIKE 'event:150 %'"
            )
            .first { $0.int64(at: 0) })
        cursor = ReplicationCursor(auditID: saved, eventSequence: 150)
        var resumed: [Int64] = []
        while true {
            let page = try log.entries(after: cursor, limit: 7)
            if page.through == cursor { break }
            for record in page.records { if case .event(let event) = record.change { resumed.append(event.sequence) } }
            cursor = page.through
        }
        #expect(resumed == Array(151...Int64(all)))

        // A changed event is named, an old one by its own entry and a new one inside its run.
        let db = try fixture.rawConnection()
        try db.run("UPDATE events SET raw = X'00' WHERE sequence = ?1", [.integer(sequences[3])])
        #expect(
            try AuditTrail(path: fixture.path).verify().problem?.message
                == "entry \(runs.last?.id ?? 0): event sequence \(sequences[3]) differs from its audit digest")
        try db.run("UPDATE events SET raw = X'00' WHERE sequence = 7")
        let old = try #require(
            try db.prepare("SELECT id FROM audit_log WHERE subject LIKE 'event:7 %'").first { $0.int64(at: 0) })
        #expect(
            try AuditTrail(path: fixture.path).verify().problem?.message
                == "entry \(old): event sequence 7 differs from its audit digest")
    }

    /// A store the previous version wrote (schema 14, made by `Fixtures/make-store.sh 14` with
    /// the binaries of commit 605a20b: 300 events, a hold, a voided consumption) opens, migrates,
    /// verifies, keeps what it held, and counts what is stored after the upgrade the new way
    /// (migration 15: outbox rows of events counted per transaction, not per row; migration 19:
    /// no insert trigger, a hold's outbox row counted where it is inserted).
    @Test func storeWrittenByVersion14OpensMigratesAndVerifies() async throws {
        let fixture = StoreFixture()
        try Self.writeVersion14Store(to: fixture)
        do {
            let db = try SQLiteConnection(path: fixture.path)
            #expect(try db.scalar("PRAGMA user_version") == .integer(14))
        }
        let store = try fixture.open()
        defer { store.close() }
        #expect(try store.count("PRAGMA user_version") == Migrations.latestVersion)
        try fixture.expectAuditIntact()
        #expect(try store.count("SELECT count(*) FROM events") == 300)
        #expect(try store.count("SELECT count(*) FROM corrections") == 1)
        #expect(try store.count("SELECT count(*) FROM holds WHERE released_at_ms IS NULL") == 1)
        let pendingSQL = "SELECT count(*) FROM outbox WHERE state = 'pending'"
        let countedSQL = "SELECT n FROM status_counts WHERE name = 'outbox' AND key = 'pending'"
        let pending = try store.count(pendingSQL)
        #expect(pending > 0)
        #expect(try store.count(countedSQL) == pending)
        let held = try store.count("SELECT n FROM status_counts WHERE name = 'held'")
        #expect(held == (try store.count("SELECT count(*) FROM nodes WHERE status = 'held'")))

        // New events on the upgraded store: a receipt, two consumptions into one new serial of an
        // order the old version made (the second finds the order → serial edge known), a refused
        // shipment of the held lot; each stored consumption adds one counted outbox row.
        let outcomes = await store.ingest([
            request("v15-r", .received(.init(lot: lot("STEEL", "L-v15"), qty: qty(10), supplier: "ACME"))),
            request(
                "v15-c1", workOrder: "WH/MO/0",
                .consumed(
                    .init(component: lot("STEEL", "L-v15"), qty: qty(1), into: .init(product: "FRAME", serial: "S-v15"))
                )),
            request(
                "v15-c2", workOrder: "WH/MO/0",
                .consumed(
                    .init(
                        component: lot("STEEL", "L-v14-1"), qty: qty(1), into: .init(product: "FRAME", serial: "S-v15"))
                )),
            request("v15-s", .shipped(.init(lot: lot("STEEL", "L-v14-2"), qty: nil, customer: "C1"))),
        ])
        #expect(outcomes.prefix(3).allSatisfy { $0.sequence != nil })
        guard case .failed(let refusal) = outcomes[3] else {
            Issue.record("a shipment of a held lot was stored: \(outcomes[3])")
            return
        }
        #expect(refusal.code == .refused)
        #expect(try store.count(pendingSQL) == pending + 2)
        #expect(try store.count(countedSQL) == pending + 2)
        #expect(
            try store.count(
                "SELECT count(*) FROM edges WHERE kind = 'order_output' AND to_node = (SELECT id FROM nodes WHERE serial = 'S-v15')"
            ) == 1)
        // Migrations 17 and 18: the indexes are gone, the order → output pairs stay unique.
        #expect(
            try store.count(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('edges_order_output', 'outbox_by_document')") == 0)
        // Migration 19: no insert trigger on the outbox or the nodes; the held items have their
        // index; a hold placed after the upgrade counts its outbox row and its items all the same.
        #expect(
            try store.count("SELECT count(*) FROM sqlite_master WHERE name IN ('outbox_counted', 'held_counted')") == 0)
        #expect(try store.count("SELECT count(*) FROM nodes INDEXED BY nodes_held WHERE status = 'held'") == held)
        let placed = await store.placeHold(
            HoldRequest(lot: lot("STEEL", "L-v15"), reason: "after the upgrade"), by: "qa")
        guard case .changed(let nowHeld) = placed else {
            Issue.record("\(placed)")
            return
        }
        #expect(nowHeld.count == 2)  // the lot and the serial it went into
        #expect(try store.count(pendingSQL) == pending + 3)
        #expect(try store.count(countedSQL) == pending + 3)
        #expect(try store.count("SELECT n FROM status_counts WHERE name = 'held'") == held + 2)
        #expect(try store.count("SELECT count(*) FROM nodes WHERE status = 'held'") == held + 2)
        #expect(try StoreIntegrity.check(path: fixture.path, depth: .full).intact)
        #expect(
            try store.count("SELECT count(*) FROM edges WHERE kind = 'direct'")
                == (try store.count(
                    "SELECT count(*) FROM events WHERE kind = 'consumed'")) - 1)  // the voided one's edge is gone
        try fixture.expectAuditIntact()
    }

    /// The indexes and triggers on the outbox, and the table's SQL: (name, sql) rows.
    static func outboxSchema(_ db: SQLiteConnection) throws -> [[SQLiteValue]] {
        var rows: [[SQLiteValue]] = []
        try db.prepare("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'outbox' ORDER BY name").query { row in
            rows.append([row.value(at: 0), row.value(at: 1)])
        }
        return rows
    }

    @Test func foreignFileIsNotAStore() throws {
        let fixture = StoreFixture()
        try FileManager.default.createDirectory(atPath: fixture.directory, withIntermediateDirectories: true)
        try Data("this is not a database, just some bytes that are long enough........".utf8)
            .write(to: URL(fileURLWithPath: fixture.path))
        let error = #expect(throws: GenealogyStoreError.self) { try fixture.open() }
        #expect(error?.code == .notAStore)
    }

    @Test func otherSQLiteDatabaseIsNotAStore() throws {
        let fixture = StoreFixture()
        do {
            let db = try fixture.rawConnection()
            try db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        }
        let error = #expect(throws: GenealogyStoreError.self) { try fixture.open() }
        #expect(error?.code == .notAStore)
    }

    @Test func newerSchemaIsRefused() throws {
        let fixture = StoreFixture()
        try fixture.open().close()
        do {
            let db = try fixture.rawConnection()
            try db.execute("PRAGMA user_version = \(Migrations.latestVersion + 1)")
        }
        let error = #expect(throws: GenealogyStoreError.self) { try fixture.open() }
        #expect(error?.code == .newerSchema)
    }

    @Test func directoryThatCannotBeCreatedIsReported() throws {
        let fixture = StoreFixture()
        try FileManager.default.createDirectory(atPath: fixture.directory, withIntermediateDirectories: true)
        let file = (fixture.directory as NSString).appendingPathComponent("plain-file")
        try Data().write(to: URL(fileURLWithPath: file))
        let error = #expect(throws: GenealogyStoreError.self) {
            try GenealogyStore.open(directory: file + "/store", options: StoreOptions(), logger: StoreFixture.logger)
        }
        #expect(error?.code == .directoryNotWritable)
    }

    @Test func readConnectionsCannotWrite() throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let error = #expect(throws: SQLiteError.self) {
            try store.read { db in try db.execute("DELETE FROM events") }
        }
        #expect(error.map { SQLiteResultCode.readOnly ~= $0.code } == true)
    }

    @Test func readAfterCloseIsRefused() throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        store.close()
        let error = #expect(throws: GenealogyStoreError.self) { try store.eventCount() }
        #expect(error?.code == .closed)
    }
}
