import Dispatch
import Foundation
import GenealogyStore
import MESDomain
import SQLite
import Synchronization
import Testing

@Suite struct IngestTests {
    static func received(_ i: Int) -> IngestRequest {
        request("ev-\(i)", .received(.init(lot: lot("STEEL", "L\(i)"), qty: qty(1))))
    }

    @Test func duplicatesWithinABatchAndAcrossReopen() async throws {
        let fixture = StoreFixture()
        var store = try fixture.open()
        // Sequence 1 is the event that holds the writer so the three share one batch.
        let first = await store.ingestInOneBatch([Self.received(1), Self.received(2), Self.received(1)])
        #expect(first == [.accepted(sequence: 2), .accepted(sequence: 3), .duplicate(sequence: 2)])
        store.close()
        store = try fixture.open()
        defer { store.close() }
        let again = await store.ingest([Self.received(2), Self.received(3)])
        #expect(again == [.duplicate(sequence: 3), .accepted(sequence: 4)])
        #expect(try store.eventCount() == 4)
        #expect(try store.count("SELECT count(*) FROM receipts") == 3)
    }

    @Test func unknownLotsAreStoredAndFlagged() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let ghost = lot("STEEL", "GHOST")
        let outcomes = await store.ingest([
            request("c1", workOrder: "MO1", .consumed(.init(component: ghost, qty: qty(1)))),
            request("s1", .shipped(.init(lot: lot("BIKE", "X"), qty: qty(1), customer: "C"))),
            request(
                "k1", .packed(.init(container: LotRef(container: "BOX"), contents: [lot("NUT", "N")], action: .add))),
            request("m1", .moved(.init(lot: lot("ROD", "R"), qty: qty(1), newLot: lot("ROD", "R2")))),
            request("r1", .received(.init(lot: ghost, qty: qty(5)))),
            request("c2", workOrder: "MO1", .consumed(.init(component: ghost, qty: qty(1)))),
        ])
        #expect(outcomes.map(\.sequence) == [1, 2, 3, 4, 5, 6])
        #expect(try store.exceptionCounts() == ["unknown_lot": 4])
        let listed = try store.exceptions(limit: 10)
        #expect(listed.map(\.eventID) == ["m1", "k1", "s1", "c1"])
        #expect(listed.allSatisfy { $0.kind == StoreException.Kind.unknownLot && $0.nodeID != nil })
        #expect(try store.exceptions(limit: 2).count == 2)
        // The receipt gives the ghost lot its origin; the second consumption is not flagged.
        #expect(try store.rows("SELECT origin FROM nodes WHERE lot = 'GHOST'") == [["received"]])
        #expect(try store.count("SELECT count(*) FROM edges WHERE kind = 'order_input'") == 2)
    }

    @Test func consumptionWithoutIntoOrOrderIsFlaggedUnlinked() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest([
            request("r1", .received(.init(lot: lot("A", "1"), qty: qty(1)))),
            request("c1", .consumed(.init(component: lot("A", "1"), qty: qty(1)))),
        ])
        #expect(try store.exceptionCounts() == ["unlinked_consumption": 1])
        #expect(try store.count("SELECT count(*) FROM edges") == 0)
    }

    @Test func completionsRunInSubmissionOrder() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open { $0.maxBatchEvents = 64 }
        defer { store.close() }
        let order = Mutex<[Int64]>([])
        let requests = (0..<2_000).map { Self.received($0) }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            for (i, r) in requests.enumerated() {
                let result = store.submit(r) { outcome in
                    order.withLock { $0.append(outcome.sequence ?? -1) }
                    if i == requests.count - 1 { done.resume() }
                }
                #expect(result == .queued)
            }
        }
        #expect(order.withLock { $0 } == (1...2_000).map { Int64($0) })
        #expect(store.committedBatchCount > 1)
    }

    @Test func groupCommitBatchesConcurrentSubmitters() throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let threads = 4
        let perThread = 2_500
        let accepted = Atomic<Int>(0)
        let completed = DispatchGroup()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                completed.enter()
                let result = store.submit(Self.received(t * perThread + i)) { outcome in
                    if case .accepted = outcome { accepted.add(1, ordering: .relaxed) }
                    completed.leave()
                }
                if result != .queued { completed.leave() }
            }
        }
        completed.wait()
        #expect(accepted.load(ordering: .relaxed) == threads * perThread)
        #expect(try store.eventCount() == threads * perThread)
        #expect(store.committedBatchCount < threads * perThread)
        #expect(store.queueDepth == 0)
    }

    @Test func submitAnswersFullAtCapacityAndClosedAfterClose() throws {
        let fixture = StoreFixture()
        let store = try fixture.open { $0.queueCapacity = 3 }
        let writerBusy = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        // The first completion holds the writer thread, so the queue fills up behind it.
        #expect(
            store.submit(Self.received(0)) { _ in
                writerBusy.signal()
                release.wait()
            } == .queued)
        writerBusy.wait()
        for i in 1...3 { #expect(store.submit(Self.received(i)) { _ in } == .queued) }
        #expect(store.queueDepth == 3)
        #expect(store.submit(Self.received(4)) { _ in } == .full)
        release.signal()
        store.close()
        #expect(store.submit(Self.received(5)) { _ in } == .closed)
        let reopened = try fixture.open()
        defer { reopened.close() }
        #expect(try reopened.eventCount() == 4)
    }

    @Test func closeDrainsTheQueueAndEveryAcceptedEventSurvivesReopen() throws {
        let fixture = StoreFixture()
        let store = try fixture.open { $0.synchronous = .full }
        let accepted = Mutex<[Int64]>([])
        let completions = Atomic<Int>(0)
        for i in 0..<5_000 {
            _ = store.submit(Self.received(i)) { outcome in
                completions.add(1, ordering: .relaxed)
                if case .accepted(let s) = outcome { accepted.withLock { $0.append(s) } }
            }
        }
        store.close()
        #expect(completions.load(ordering: .relaxed) == 5_000)
        // Checkpointed: the WAL is truncated, or gone (SQLite deletes it when the last connection closes).
        #expect((FileManager.default.fileSize(fixture.path + "-wal") ?? 0) == 0)
        let reopened = try fixture.open()
        defer { reopened.close() }
        #expect(try reopened.eventCount() == accepted.withLock { $0.count })
        let stored = try reopened.rows("SELECT sequence FROM events ORDER BY sequence").compactMap {
            if case .integer(let s) = $0[0] { s } else { nil }
        }
        #expect(stored == accepted.withLock { $0 })
    }

    @Test func oneFailingEventDoesNotFailItsBatch() async throws {
        let fixture = StoreFixture()
        try fixture.open().close()
        do {
            let db = try fixture.rawConnection()
            try db.execute(
                """
                CREATE TRIGGER refuse_bad BEFORE INSERT ON receipts
                WHEN (SELECT event_id FROM events WHERE sequence = NEW.sequence) LIKE 'bad-%'
                BEGIN SELECT RAISE(ABORT, 'refused by test'); END;
                """)
        }
        let store = try fixture.open()
        defer { store.close() }
        let batchesBefore = store.committedBatchCount
        let outcomes = await store.ingestInOneBatch([
            Self.received(1),
            request("bad-1", .received(.init(lot: lot("X", "1"), qty: qty(1)))),
            Self.received(2),
        ])
        #expect(store.committedBatchCount == batchesBefore + 2)  // the holding event's batch, then the three
        #expect(outcomes[0] == .accepted(sequence: 2))
        guard case .failed(let error) = outcomes[1] else {
            Issue.record("expected failure, got \(outcomes[1])")
            return
        }
        #expect(error.code == .eventFailed)
        #expect(error.underlying.map { SQLiteResultCode.constraint ~= $0.code } == true)
        #expect(outcomes[2] == .accepted(sequence: 3))
        #expect(try store.eventCount() == 3)
        #expect(try store.event(id: "bad-1") == nil)
        #expect(try store.count("SELECT count(*) FROM nodes WHERE product = 'X'") == 0)
        try fixture.expectAuditIntact()
    }

    @Test func aFailedTransactionFailsTheWholeBatchAndTheWriterGoesOn() async throws {
        let fixture = StoreFixture()
        try fixture.open().close()
        do {
            let db = try fixture.rawConnection()
            try db.execute(
                """
                CREATE TRIGGER roll_back BEFORE INSERT ON events WHEN NEW.event_id = 'poison'
                BEGIN SELECT RAISE(ROLLBACK, 'rolled back by test'); END;
                """)
        }
        let store = try fixture.open()
        defer { store.close() }
        let batchesBefore = store.committedBatchCount
        let outcomes = await store.ingestInOneBatch([
            Self.received(1), request("poison", .downtime(.init(reason: "x", loss: .availability, startedAtMs: 1))),
        ])
        #expect(store.committedBatchCount == batchesBefore + 1)  // only the holding event's batch
        for outcome in outcomes {
            guard case .failed(let error) = outcome else {
                Issue.record("expected failure, got \(outcome)")
                continue
            }
            #expect(error.code == .commitFailed)
        }
        #expect(await store.ingest(Self.received(2)) == .accepted(sequence: 2))
        #expect(try store.eventCount() == 2)  // the holding event and the last one
        try fixture.expectAuditIntact()
    }
}

extension FileManager {
    func fileSize(_ path: String) -> Int? {
        (try? attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
    }
}

@Suite struct ReusedEventIDTests {
    @Test func aUsedIDWithAnotherBodyIsRefusedAndTheSameEventOtherwiseEncodedIsADuplicate() async throws {
        let fixture = StoreFixture()
        // The test's "decoder": stored bytes are the event id; equal when the ids match and the new
        // event is the received one (what a real decoder would say of a re-encoding).
        let store = try fixture.open { options in
            options.sameEvent = { stored, event in
                String(decoding: stored, as: UTF8.self).hasPrefix(event.eventID) && event.body?.name == "received"
            }
        }
        defer { store.close() }
        let first = request("e1", .received(.init(lot: lot("RAW", "R1"), qty: qty(5))))
        guard case .accepted(let sequence) = await store.ingest(first) else {
            Issue.record("not stored")
            return
        }
        var reencoded = first
        reencoded.raw = Array("e1 encoded otherwise".utf8)
        #expect(await store.ingest(reencoded) == .duplicate(sequence: sequence))
        var other = request("e1", .scrapped(.init(lot: lot("RAW", "R1"), qty: qty(1))))
        other.raw = Array("e1 another event".utf8)
        guard case .failed(let error) = await store.ingest(other) else {
            Issue.record("a re-used id was not refused")
            return
        }
        #expect(error.code == .conflict)
        #expect(error.message.contains("(sequence \(sequence)) with another body"))
        #expect(try store.count("SELECT count(*) FROM events") == 1)
        #expect(try store.count("SELECT count(*) FROM refused_events WHERE kind = 'event_id_reused'") == 1)
        #expect(try store.refusedEventCounts() == ["event_id_reused": 1])
        try fixture.expectAuditIntact()
    }
}
