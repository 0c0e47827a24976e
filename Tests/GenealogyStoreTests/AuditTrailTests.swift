import Foundation
import GenealogySchema
import MESDomain
import SQLite
import Synchronization
import Testing

@testable import GenealogyStore

/// The hash-chained audit trail: what is appended, and that `AuditTrail.verify` finds each kind of
/// tampering with the file at the right entry.
@Suite struct AuditTrailTests {
    /// A closed store with five events stored in one transaction, a hold placed and released, an
    /// outbox command and an entry of the gateway's own. Entries: 1 the event that holds the writer
    /// (`ingestInOneBatch`), 2 the run of the five events, 3 hold placed, 4 released, 5 outbox skip,
    /// 6 export, 7 the sixth event.
    func filled() async throws -> (StoreFixture, [Int64]) {
        let fixture = StoreFixture()
        let store = try fixture.open()
        var outcomes = await store.ingestInOneBatch([
            request("r1", .received(.init(lot: lot("RESIN", "R1"), qty: qty(10), supplier: "ACME"))),
            request("c1", workOrder: "MO1", .consumed(.init(component: lot("RESIN", "R1"), qty: qty(2)))),
            request("p1", workOrder: "MO1", .produced(.init(output: lot("CAP", "C1"), good: qty(5, "Units")))),
            request("s1", workOrder: "MO1", .scrapped(.init(lot: lot("RESIN", "R1"), qty: qty(1)))),
            request("d1", .downtime(.init(reason: "jam", loss: .availability, startedAtMs: 1))),
        ])
        #expect(
            await store.placeHold(HoldRequest(lot: lot("RESIN", "R1"), reason: "odour"), by: "qa-anna") != .notFound)
        #expect(
            await store.releaseHold(HoldRequest(lot: lot("RESIN", "R1"), reason: "lab ok"), by: "qa-ben") != .notFound)
        let outbox = try OutboxStore(path: store.path)
        let row = try #require(try outbox.list(states: [], limit: 1).first)
        #expect(try outbox.skip(id: row.id, reason: "booked by hand", actor: "ana", nowMs: 42) == 1)
        let exportEntry = try await store.appendAudit(
            actor: "auditor-1", action: AuditAction.export, subject: "lot RESIN/R1", reason: "FDA request",
            detail: "EPCIS_JSONLD")
        #expect(exportEntry == 6)
        outcomes += await store.ingest([
            request("m1", .moved(.init(lot: lot("CAP", "C1"), qty: nil, toLocation: "WH2")))
        ])
        store.close()
        return (fixture, outcomes.compactMap(\.sequence))
    }

    func verify(_ fixture: StoreFixture) throws -> AuditVerification {
        try AuditTrail(path: fixture.path).verify()
    }

    /// Runs `sql` on a write connection of the test's own, as someone with the file would.
    func tamper(_ fixture: StoreFixture, _ sql: String, _ values: [SQLiteValue] = []) throws {
        let db = try fixture.rawConnection()
        try db.execute("DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete")
        try db.run(sql, values)
    }

    @Test func everyChangeIsAppendedAndTheChainVerifies() async throws {
        let (fixture, sequences) = try await filled()
        let trail = try AuditTrail(path: fixture.path)
        let entries = try trail.entries(limit: 100)
        #expect(
            entries.map(\.action) == [
                "event_stored", "event_stored", "hold_placed", "hold_released", "outbox_skip", "export", "event_stored",
            ])
        #expect(entries.map(\.id) == Array(1...7))
        // The five events of one transaction and one client are one entry: their digests, in order.
        #expect(entries[1].subject == "events:\(sequences[0])-\(sequences[4])" && entries[1].actor == "test-client")
        #expect(entries[1].detail == "5 events: received 1, consumed 1, produced 1, scrapped 1, downtime 1")
        #expect(entries[1].recordDigest.count == 5 * 64 && entries[6].recordDigest.count == 64)
        #expect(
            entries[6].subject == "events:\(sequences[5])-\(sequences[5])" && entries[6].detail == "1 event: moved 1")
        #expect(
            entries[2].actor == "qa-anna" && entries[2].reason == "odour" && entries[2].subject.hasPrefix("hold:1 "))
        #expect(entries[3].actor == "qa-ben" && entries[3].reason == "lab ok")
        #expect(entries[4].actor == "ana" && entries[4].reason == "booked by hand")
        #expect(entries[5].recordDigest.isEmpty)
        #expect(try trail.entries(action: "hold_placed", limit: 10).map(\.id) == [3])
        #expect(try trail.entries(sinceMs: .max, limit: 10).isEmpty)
        let result = try trail.verify()
        #expect(result.problem == nil)
        #expect(result.entries == 7 && result.headID == 7 && result.headHash == entries[6].hash)
        #expect(try trail.hash(ofEntry: 3) == entries[2].hash)
        #expect(try trail.hash(ofEntry: 8) == nil)
    }

    @Test func aChangedByteOfAnEventIsNamedByItsEntry() async throws {
        let (fixture, sequences) = try await filled()
        try tamper(
            fixture, "UPDATE events SET raw = ?1 WHERE sequence = ?2",
            [.blob(Array("p2".utf8)), .integer(sequences[2])])
        // The third event of the run of five, named as such.
        let problem = try #require(try verify(fixture).problem)
        #expect(problem.entry == 2 && problem.kind == .record)
        #expect(problem.message == "entry 2: event sequence \(sequences[2]) differs from its audit digest")
    }

    @Test func aChangedReasonIsAnAlteredEntry() async throws {
        let (fixture, _) = try await filled()
        try tamper(fixture, "UPDATE audit_log SET reason = 'routine' WHERE id = 3")
        let problem = try #require(try verify(fixture).problem)
        #expect(problem.entry == 3 && problem.kind == .altered)
        #expect(problem.message == "entry 3: hash mismatch (altered)")
    }

    @Test func aDeletedEntryIsRemoved() async throws {
        let (fixture, _) = try await filled()
        try tamper(fixture, "DELETE FROM audit_log WHERE id = 4")
        let problem = try #require(try verify(fixture).problem)
        #expect(problem.entry == 4 && problem.kind == .removed)
        #expect(problem.message == "entry 4 missing (removed; 3 → 5)")
    }

    @Test func aDeletedEventIsMissing() async throws {
        let (fixture, sequences) = try await filled()
        try tamper(fixture, "DELETE FROM events WHERE sequence = ?1", [.integer(sequences[1])])
        let problem = try #require(try verify(fixture).problem)
        #expect(problem.entry == 2 && problem.kind == .record)
        #expect(problem.message == "entry 2: event sequence \(sequences[1]) is missing (deleted)")
    }

    @Test func aChangedDigestInARunIsAnAlteredEntryAndARehashedOneNamesItsEvent() async throws {
        let (fixture, sequences) = try await filled()
        // The fourth event's digest in the run, changed: the entry's hash no longer covers it.
        let db = try fixture.rawConnection()
        try db.execute("DROP TRIGGER audit_log_no_update")
        let digests = try #require(
            try db.prepare("SELECT record_digest FROM audit_log WHERE id = 2").first { $0.blob(at: 0) })
        #expect(digests.count == 5 * 32)
        var changed = digests
        changed[3 * 32] ^= 0x01
        try db.run("UPDATE audit_log SET record_digest = ?1 WHERE id = 2", [.blob(changed)])
        var problem = try #require(try verify(fixture).problem)
        #expect(problem.entry == 2 && problem.kind == .altered)
        // Re-hashed, with every entry after it (as someone rewriting the chain would): the fourth
        // event is named.
        let entries = try AuditTrail(path: fixture.path).entries(limit: 10)
        try rehash(db, from: 2, entries: entries)
        problem = try #require(try verify(fixture).problem)
        #expect(problem.entry == 2 && problem.kind == .record)
        #expect(problem.message == "entry 2: event sequence \(sequences[3]) differs from its audit digest")
        // Cut to four digests and re-hashed: the entry no longer holds one digest per event.
        try db.run("UPDATE audit_log SET record_digest = ?1 WHERE id = 2", [.blob(Array(digests.prefix(4 * 32)))])
        try rehash(db, from: 2, entries: entries)
        problem = try #require(try verify(fixture).problem)
        #expect(problem.entry == 2 && problem.kind == .record)
        #expect(
            problem.message
                == "entry 2: its record digest holds 128 bytes, not 32 for each of events \(sequences[0])-\(sequences[4])"
        )
    }

    /// Recomputes the hashes of entries `from` on, as someone rewriting the chain would.
    func rehash(_ db: SQLiteConnection, from id: Int64, entries: [AuditEntry]) throws {
        var prev = try #require(
            try db.prepare("SELECT hash FROM audit_log WHERE id = ?1").first([.integer(id - 1)]) { $0.blob(at: 0) })
        for entry in entries where entry.id >= id {
            let digest = try #require(
                try db.prepare("SELECT record_digest FROM audit_log WHERE id = ?1").first([.integer(entry.id)]) {
                    $0.blob(at: 0)
                })
            let hash = AuditHash.entry(
                prevHash: prev, id: entry.id, atMs: entry.atMs, actor: entry.actor, action: entry.action,
                subject: entry.subject, reason: entry.reason, detail: entry.detail, recordDigest: digest)
            try db.run(
                "UPDATE audit_log SET prev_hash = ?1, hash = ?2 WHERE id = ?3",
                [.blob(prev), .blob(hash), .integer(entry.id)])
            prev = hash
        }
    }

    @Test(arguments: [(2, 7), (4, 5), (1, 2)])
    func swappedEntriesAreReordered(first: Int, second: Int) async throws {
        let (fixture, _) = try await filled()
        let columns = "at_ms, actor, action, subject, reason, detail, record_digest, prev_hash, hash"
        let db = try fixture.rawConnection()
        try db.execute("DROP TRIGGER audit_log_no_update")
        try db.execute(
            """
            CREATE TEMP TABLE swap AS SELECT * FROM audit_log WHERE id IN (\(first), \(second));
            UPDATE audit_log SET (\(columns)) = (SELECT \(columns) FROM swap WHERE swap.id = \(second)) WHERE id = \(first);
            UPDATE audit_log SET (\(columns)) = (SELECT \(columns) FROM swap WHERE swap.id = \(first)) WHERE id = \(second);
            """)
        let problem = try #require(try verify(fixture).problem)
        #expect(problem.entry == Int64(first) && problem.kind == .reordered)
        #expect(problem.message.hasPrefix("entry \(first): out of order (reordered)"))
    }

    @Test func alteredHoldAndOutboxRecordsAreNamed() async throws {
        let (fixture, _) = try await filled()
        try tamper(fixture, "UPDATE holds SET reason = 'nothing' WHERE id = 1")
        #expect(try verify(fixture).problem?.message == "entry 3: hold 1 differs from its audit digest")
        try tamper(fixture, "UPDATE holds SET reason = 'odour' WHERE id = 1")
        try tamper(fixture, "DELETE FROM outbox_audit")
        #expect(try verify(fixture).problem?.message == "entry 5: outbox command 1 is missing (deleted)")
    }

    @Test func anEventWithoutAnEntryIsFound() async throws {
        let (fixture, _) = try await filled()
        try tamper(
            fixture,
            "INSERT INTO events (event_id, kind, occurred_at_ms, recorded_at_ms, raw) VALUES ('forged', 'shipped', 1, 1, X'00')"
        )
        let problem = try #require(try verify(fixture).problem)
        #expect(problem.kind == .record && problem.message.contains("has no audit entry"))
    }

    @Test func theTriggersRefuseUpdateAndDelete() async throws {
        let (fixture, _) = try await filled()
        let db = try fixture.rawConnection()
        #expect(throws: SQLiteError.self) { try db.run("UPDATE audit_log SET reason = 'x' WHERE id = 1") }
        #expect(throws: SQLiteError.self) { try db.run("DELETE FROM audit_log WHERE id = 7") }
        #expect(try verify(fixture).problem == nil)
    }

    @Test func aStoreFromBeforeTheTrailIsBackfilled() async throws {
        let (fixture, sequences) = try await filled()
        do {
            // Back to schema 3: as a store written by an earlier mesgate (no audit trail, no EPCIS
            // imports, no hold rows in the outbox, which version 6 added and rebuilds the outbox for,
            // the forward index of version 7 not yet made, a skipped row 'posted' as before version 11).
            let db = try fixture.rawConnection()
            try db.execute(
                """
                UPDATE outbox SET state = 'posted' WHERE state = 'skipped';
                DROP TABLE audit_log; DROP TABLE epcis_imports; DELETE FROM outbox WHERE hold_id IS NOT NULL;
                DROP INDEX edges_forward; CREATE INDEX edges_by_from ON edges (from_node, to_node);
                DROP TABLE status_counts; DROP TABLE writer_probe; DROP INDEX outbox_waiting_since;
                DROP TRIGGER outbox_recounted; DROP TRIGGER outbox_uncounted;
                DROP TRIGGER exceptions_counted; DROP TRIGGER exceptions_uncounted; DROP INDEX nodes_held;
                DROP TRIGGER held_recounted; DROP TRIGGER held_uncounted; DROP TRIGGER outbox_commands_counted;
                DROP TRIGGER outbox_commands_uncounted;
                DROP TABLE store_identity; DROP TABLE replication_cursor; DROP TABLE plant_events; DROP TABLE hub_plants;
                DROP TABLE plant_holds; DROP TABLE hub_dead_letters;
                DROP TABLE hub_hold_fanout; DROP TABLE hub_hold_deliveries; DROP TABLE enterprise_holds; DROP TABLE corrections;
                DROP TABLE exception_counts; DROP TRIGGER exception_states_counted;
                DROP TRIGGER exception_states_recounted; DROP TRIGGER exception_states_uncounted; DROP INDEX exceptions_unclosed; DROP INDEX exceptions_unclosed_by_key;
                DROP INDEX exceptions_by_sequence; DROP INDEX outbox_by_exception;
                DROP TABLE master_revisions; DROP TABLE master_items;
                CREATE UNIQUE INDEX edges_order_output ON edges (from_node, to_node) WHERE kind = 'order_output';
                CREATE INDEX outbox_by_document ON outbox (document_key, id);
                DELETE FROM schema_migrations WHERE version >= 4; PRAGMA user_version = 3
                """)
        }
        let store = try fixture.open()
        _ = await store.ingest(request("after", .downtime(.init(reason: "jam", loss: .availability, startedAtMs: 2))))
        store.close()
        let trail = try AuditTrail(path: fixture.path)
        let entries = try trail.entries(limit: 100)
        // The seven events in sequence order, one entry each (the writer's hold event first), the
        // hold and its release, the outbox command, then the new event: a run of one, as this
        // mesgate writes them, after the entries of one event each an earlier one wrote.
        #expect(entries.map(\.action).prefix(7) == Array(repeating: "event_stored", count: 7)[...])
        #expect(
            entries.map(\.subject).dropFirst().prefix(6).map { $0.split(separator: " ")[0] }
                == sequences.map { "event:\($0)" })
        #expect(entries[7...].map(\.action) == ["hold_placed", "hold_released", "outbox_skip", "event_stored"])
        #expect(entries[10].subject.hasPrefix("events:"))
        #expect(entries[0].detail.hasSuffix("backfilled by migration 4"))
        #expect(try trail.verify().problem == nil)
    }

    @Test func appendsFromAnotherConnectionAndRolledBackEventsKeepTheChain() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest([request("a1", .downtime(.init(reason: "jam", loss: .availability, startedAtMs: 1)))])
        // The outbox connection appends while the store is open: the writer must notice.
        let outbox = try OutboxStore(path: store.path)
        #expect(try outbox.retry(id: nil, actor: "ana", nowMs: 5) == 0)
        // One event fails in the middle of a batch: the batch is redone with savepoints.
        do {
            let db = try fixture.rawConnection()
            try db.execute(
                "CREATE TRIGGER refuse_bad BEFORE INSERT ON events WHEN NEW.event_id = 'bad' BEGIN SELECT RAISE(ABORT, 'no'); END"
            )
        }
        let outcomes = await store.ingestInOneBatch([
            request("a2", .downtime(.init(reason: "jam", loss: .availability, startedAtMs: 2))),
            request("bad", .downtime(.init(reason: "jam", loss: .availability, startedAtMs: 3))),
            request("a3", .downtime(.init(reason: "jam", loss: .availability, startedAtMs: 4))),
        ])
        #expect(outcomes[1].sequence == nil && outcomes[0].sequence != nil && outcomes[2].sequence != nil)
        _ = try await store.appendAudit(actor: "t", action: AuditAction.export, subject: "lot X")
        let trail = try AuditTrail(path: fixture.path)
        // a1; the retry; the event holding the writer; a2 and a3 (the failed event between them
        // rolled back, with its sequence); the export.
        let entries = try trail.entries(limit: 100)
        #expect(entries.map(\.action) == ["event_stored", "outbox_retry", "event_stored", "event_stored", "export"])
        #expect(entries[3].subject == "events:\(outcomes[0].sequence ?? 0)-\(outcomes[2].sequence ?? 0)")
        #expect(try trail.verify().problem == nil)
    }

    @Test func aRunNamesItsClientsAndHoldsAtMostAThousandEvents() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        var requests = (0..<2_500).map { IngestTests.received($0) }
        requests[1_200].client = "line-2"
        for i in 2_100..<2_106 { requests[i].client = "line-\(i)" }
        let sequences = await store.ingestInOneBatch(requests).map { $0.sequence ?? 0 }
        store.close()
        let entries = try AuditTrail(path: fixture.path).entries(limit: 100).dropFirst()
        #expect(
            entries.map(\.subject) == [
                "events:\(sequences[0])-\(sequences[999])", "events:\(sequences[1_000])-\(sequences[1_999])",
                "events:\(sequences[2_000])-\(sequences[2_499])",
            ])
        #expect(
            entries.map(\.actor) == [
                "test-client", "test-client, line-2", "test-client, line-2100, line-2101, line-2102 and 3 more",
            ])
        #expect(entries.map { $0.recordDigest.count / 64 } == [1_000, 1_000, 500])
        #expect(entries.first?.detail == "1000 events: received 1000")
        #expect(try AuditTrail(path: fixture.path).verify().problem == nil)
    }

    /// A command that appended the run and then failed is rolled back with its savepoint: the
    /// run is as it was before it, and goes on with the next event.
    @Test func aRolledBackCommandGivesTheRunBack() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        let writerHeld = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        _ = store.submit(request("hold", .operation(.init(operation: "hold", state: .started)))) { _ in
            writerHeld.signal()
            release.wait()
        }
        writerHeld.wait()
        // Queued in this order behind the held writer, so one batch takes all three.
        let outcomes = Mutex<[IngestOutcome?]>([nil, nil])
        let commandRan = Mutex<Bool?>(nil)
        let done = DispatchGroup()
        for (i, id) in ["e1", "e2"].enumerated() {
            done.enter()
            _ = store.submit(request(id, .downtime(.init(reason: "jam", loss: .availability, startedAtMs: 1)))) {
                outcome in
                outcomes.withLock { $0[i] = outcome }
                done.leave()
            }
            guard i == 0 else { continue }
            done.enter()
            store.submitCommand(
                failed: { _ in false },
                completion: { ran in
                    commandRan.withLock { $0 = ran }
                    done.leave()
                }
            ) { db, nowMs throws(SQLiteError) -> Bool in
                try AuditChain.on(db)?.append(
                    AuditDraft(atMs: nowMs, actor: "t", action: AuditAction.export, subject: "lot X"), on: db)
                throw SQLiteError(code: .constraint, message: "the command fails after appending", operation: "test")
            }
        }
        release.signal()
        await withCheckedContinuation { finished in done.notify(queue: .global()) { finished.resume() } }
        let (e1, e2) = outcomes.withLock { ($0[0]?.sequence, $0[1]?.sequence) }
        store.close()
        #expect(commandRan.withLock { $0 } == false)
        let entries = try AuditTrail(path: fixture.path).entries(limit: 10)
        #expect(entries.map(\.action) == ["event_stored", "event_stored"])
        #expect(e1 != nil && entries.last?.subject == "events:\(e1 ?? 0)-\(e2 ?? 0)")
        #expect(try AuditTrail(path: fixture.path).verify().problem == nil)
    }

    @Test func automaticHoldsAndRefusedShipmentsAreAudited() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open { $0.holdOnQualityFail = true }
        let outcomes = await store.ingestInOneBatch([
            request("r1", .received(.init(lot: lot("RESIN", "R1"), qty: qty(10)))),
            request("q1", .quality(.init(lot: lot("RESIN", "R1"), check: "MFI", outcome: .fail))),
            request("x1", .shipped(.init(lot: lot("RESIN", "R1"), qty: qty(1), customer: "CUST"))),
            request("r2", .received(.init(lot: lot("RESIN", "R2"), qty: qty(10)))),
        ])
        store.close()
        #expect(outcomes[2].sequence == nil)
        let sequences = outcomes.map { $0.sequence ?? 0 }
        let trail = try AuditTrail(path: fixture.path)
        // In one transaction, in the order written: the run of r1 and q1, the hold q1 placed, the
        // refused shipment, then r2 in a run of its own.
        let entries = try trail.entries(limit: 10).dropFirst()
        #expect(entries.map(\.action) == ["event_stored", "hold_placed", "event_refused", "event_stored"])
        #expect(entries.map(\.subject).first == "events:\(sequences[0])-\(sequences[1])")
        #expect(entries[2].actor == "test-client" && entries[2].reason == "quality check MFI failed (event q1)")
        #expect(entries[3].subject == "event_id x1" && entries[3].reason.contains("on quality hold"))
        #expect(entries[4].subject == "events:\(sequences[3])-\(sequences[3])")
        #expect(try trail.verify().problem == nil)
    }

    @Test func aFileWithoutATrailIsRefused() throws {
        let fixture = StoreFixture()
        #expect(throws: GenealogyStoreError.self) { try AuditTrail(path: fixture.path) }
        do {
            let db = try fixture.rawConnection()
            try db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        }
        let error = #expect(throws: GenealogyStoreError.self) { try AuditTrail(path: fixture.path) }
        #expect(error?.code == .notAStore)
    }

    @Test func aStoreNewerThanTheBuildIsRefused() throws {
        let fixture = StoreFixture()
        try fixture.open().close()
        try fixture.rawConnection().execute("PRAGMA user_version = \(Migrations.latestVersion + 1)")
        let error = #expect(throws: GenealogyStoreError.self) { try AuditTrail(path: fixture.path) }
        #expect(
            error?.message
                == "\(fixture.path) has schema version \(Migrations.latestVersion + 1), newer than this build's \(Migrations.latestVersion): read its trail with the mesgate that wrote it"
        )
    }

    /// A run's subject written by hand with a range no digest can cover is named, not a crash.
    @Test func aForgedRunOfImpossibleLengthIsNamed() async throws {
        let (fixture, _) = try await filled()
        let db = try fixture.rawConnection()
        try db.execute("DROP TRIGGER audit_log_no_update")
        let entries = try AuditTrail(path: fixture.path).entries(limit: 10)
        for subject in ["events:0-9223372036854775807", "events:1-300000000000000000"] {
            try db.run("UPDATE audit_log SET subject = ?1 WHERE id = 2", [.text(subject)])
            var rewritten = entries
            rewritten[1].subject = subject
            try rehash(db, from: 2, entries: rewritten)
            let problem = try #require(try verify(fixture).problem)
            #expect(problem.entry == 2 && problem.kind == .record)
            #expect(problem.message.hasPrefix("entry 2: its record digest holds 160 bytes, not 32 for each of events"))
        }
    }

    @Test func aStoreOlderThanTheTrailIsRefusedUntilMigrated() throws {
        let fixture = StoreFixture()
        try fixture.open().close()
        try fixture.rawConnection().execute("DROP TABLE audit_log")
        let error = #expect(throws: GenealogyStoreError.self) { try AuditTrail(path: fixture.path) }
        #expect(error?.message.contains("has no audit trail yet") == true)
    }
}
