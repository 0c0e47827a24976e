import Dispatch
import Foundation
import MESDomain
import SQLite
import Synchronization
import Testing

@testable import GenealogyStore

#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif

/// With `synchronous` full the writer commits without syncing and `CommitSyncer` syncs the
/// write-ahead log before anything of a batch is told: these tests give the store a sync of their
/// own (`StoreOptions.walSync`) that waits or fails.
@Suite struct CommitSyncerTests {
    /// Holds its first call until `release` is signalled (`entered` says it began); fails its
    /// first call instead with `failFirst`. Later calls return at once.
    final class SyncGate: Sendable {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let calls = Atomic<Int>(0)
        let failFirst: Bool

        init(failFirst: Bool = false) { self.failFirst = failFirst }

        func sync() throws(WALSyncError) {
            guard calls.add(1, ordering: .relaxed).newValue == 1 else { return }
            if failFirst { throw WALSyncError(operation: "fdatasync", path: "test-wal", errno: EIO) }
            entered.signal()
            _ = release.wait(timeout: .now() + 30)  // a failing test must not hang the store
        }
    }

    /// A downtime without end: stored, it raises a `machine_stopped` exception.
    static let stopped = request(
        "d1", workOrder: "MO7", workCenter: "WC-PRESS",
        .downtime(.init(reason: "jam", loss: .availability, startedAtMs: 1_000, endedAtMs: 0)))

    static func open(_ fixture: StoreFixture, _ gate: SyncGate, _ configure: (inout StoreOptions) -> Void = { _ in })
        throws -> GenealogyStore
    {
        try fixture.open {
            $0.synchronous = .full
            $0.walSync = gate.sync
            configure(&$0)
        }
    }

    /// Waits at most 10 s for `semaphore`: a broken store fails the test instead of hanging it.
    static func wait(_ semaphore: DispatchSemaphore, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(semaphore.wait(timeout: .now() + 10) == .success, sourceLocation: sourceLocation)
    }

    /// Waits (at most 10 s) until `condition` holds.
    static func eventually(_ condition: () throws -> Bool) rethrows {
        let deadline = Date().addingTimeInterval(10)
        while try !condition(), Date() < deadline { usleep(1_000) }
    }

    @Test func acksAndExceptionsWaitForTheSyncOfTheLog() throws {
        let fixture = StoreFixture()
        let gate = SyncGate()
        let store = try Self.open(fixture, gate)
        defer { store.close() }
        let heard = Mutex<[PlantException]>([])
        store.watchExceptions { changes in heard.withLock { $0 += changes } }
        let acked = DispatchSemaphore(value: 0)
        let outcome = Mutex<IngestOutcome?>(nil)
        #expect(
            store.submit(Self.stopped) { result in
                outcome.withLock { $0 = result }
                acked.signal()
            } == .queued)

        Self.wait(gate.entered)  // committed; the log's sync has begun and does not end
        #expect(try store.eventCount() == 1, "committed, and readers see it")
        #expect(acked.wait(timeout: .now() + .milliseconds(300)) == .timedOut, "no ack before the sync")
        #expect(heard.withLock { $0.isEmpty }, "no exception told before the sync")

        gate.release.signal()
        Self.wait(acked)
        #expect(outcome.withLock { $0 } == .accepted(sequence: 1))
        #expect(heard.withLock { $0.map(\.kind) } == ["machine_stopped"])
    }

    @Test func oneSyncServesTheCommitsMadeWhileTheLastOneRan() throws {
        let fixture = StoreFixture()
        let gate = SyncGate()
        let store = try Self.open(fixture, gate)
        defer { store.close() }
        let order = Mutex<[IngestOutcome]>([])
        let acked = DispatchSemaphore(value: 0)
        let complete: @Sendable (IngestOutcome) -> Void = { outcome in
            order.withLock { $0.append(outcome) }
            acked.signal()
        }
        _ = store.submit(IngestTests.received(1), completion: complete)
        Self.wait(gate.entered)
        // The writer goes on while the first sync runs: two more events and the first again, each
        // committed in a transaction of its own (each submitted once the last was handed on).
        let batchesBefore = store.committedBatchCount
        for (handed, i) in [2, 3, 1].enumerated() {
            _ = store.submit(IngestTests.received(i), completion: complete)
            Self.eventually { store.syncer?.untoldEvents == handed + 2 }
        }
        #expect(store.syncer?.untoldEvents == 4, "handed on while the first sync had not ended")
        #expect(store.committedBatchCount - batchesBefore == 3)
        #expect(try store.eventCount() == 3)
        #expect(order.withLock { $0.isEmpty })

        gate.release.signal()
        for _ in 0..<4 { Self.wait(acked) }
        #expect(
            order.withLock { $0 }
                == [.accepted(sequence: 1), .accepted(sequence: 2), .accepted(sequence: 3), .duplicate(sequence: 1)])
        #expect(gate.calls.load(ordering: .relaxed) == 2, "one sync for the three commits made during the first")
    }

    @Test func aFailedSyncFailsItsAcksAndEveryLaterOne() async throws {
        let fixture = StoreFixture()
        let gate = SyncGate(failFirst: true)
        let store = try Self.open(fixture, gate)
        defer { store.close() }

        let first = await store.ingest(IngestTests.received(1))
        guard case .failed(let error) = first else {
            Issue.record("acked although the log was not synced: \(first)")
            return
        }
        #expect(error.code == .commitFailed)
        #expect(error.message.contains("could not be synced"))
        guard case .commitsFailing(let detail)? = store.condition.problem else {
            Issue.record("the store does not report the failed sync: \(String(describing: store.condition.problem))")
            return
        }
        #expect(detail.contains("EIO") || detail.contains("errno 5"))

        // The disk may have dropped what it was given since the last good sync: nothing more is acked,
        // though a sync would now succeed, until the store is opened again.
        let second = await store.ingest(IngestTests.received(2))
        guard case .failed(let later) = second else {
            Issue.record("acked after a failed sync: \(second)")
            return
        }
        #expect(later.code == .commitFailed)
        #expect(gate.calls.load(ordering: .relaxed) == 1)
        #expect(store.condition.problem != nil)
        #expect(try store.eventCount() == 1, "nothing more is stored")
        // Nobody else tells the world of what the log holds: the poster's and replication's syncs fail.
        #expect(throws: WALSyncError.self) { try WALFile(databasePath: fixture.path).sync() }
        #expect(throws: GenealogyStoreError.self) { _ = try OutboxStore(path: fixture.path).makeReadsDurable() }

        store.close()
        let reopened = try fixture.open { $0.synchronous = .full }
        defer { reopened.close() }
        try WALFile(databasePath: fixture.path).sync()
        #expect(await reopened.ingest(IngestTests.received(3)) == .accepted(sequence: 2))
    }

    @Test func theWriterWaitsWhenTheAcksFallBehindSoTheQueueFills() throws {
        let fixture = StoreFixture()
        let gate = SyncGate()
        let store = try Self.open(fixture, gate) {
            $0.maxBatchEvents = 1
            $0.queueCapacity = 2
        }
        defer { store.close() }
        let acked = Mutex<[IngestOutcome]>([])
        let complete: @Sendable (IngestOutcome) -> Void = { outcome in acked.withLock { $0.append(outcome) } }
        #expect(store.submit(IngestTests.received(1), completion: complete) == .queued)
        Self.wait(gate.entered)
        #expect(store.submit(IngestTests.received(2), completion: complete) == .queued)
        Self.eventually { store.syncer?.untoldEvents == 2 }
        // Two events are not acked, one more than the limit (a batch): the writer takes no more.
        #expect(store.submit(IngestTests.received(3), completion: complete) == .queued)
        #expect(store.submit(IngestTests.received(4), completion: complete) == .queued)
        usleep(300_000)
        #expect(store.queueDepth == 2, "the writer went on although two events wait for their ack")
        #expect(store.submit(IngestTests.received(5), completion: complete) == .full)

        gate.release.signal()
        Self.eventually { acked.withLock { $0.count } == 4 }
        #expect(acked.withLock { $0 } == (1...4).map { .accepted(sequence: Int64($0)) })
    }

    @Test func theLogFileSyncsAndAMissingLogIsNothingToSync() throws {
        let fixture = StoreFixture()
        try FileManager.default.createDirectory(atPath: fixture.directory, withIntermediateDirectories: true)
        let wal = WALFile(databasePath: fixture.path)
        try wal.sync()  // no log yet
        let store = try fixture.open { $0.synchronous = .full }
        defer { store.close() }
        #expect(store.submit(IngestTests.received(1)) { _ in } == .queued)
        try wal.sync()
        #expect(FileManager.default.fileExists(atPath: fixture.path + "-wal"))
    }

    /// With `synchronous` full the write connection's log is buffered (`WALBuffer`): a batch's
    /// frames reach the log in a few writes at its commit, not two per page, and SQLite leaves the
    /// commit's sync to the syncer. What was acked is in the log a reader and a reopened store see.
    @Test func theWritersCommitsGoToTheLogInAFewWrites() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open { $0.synchronous = .full }
        let requests = (1...200).map { i in
            request("e\(i)", workOrder: "MO1", .produced(.init(output: lot("CAP", "C\(i)"), good: qty(1, "Units"))))
        }
        let outcomes = await store.ingest(requests)
        #expect(outcomes == (1...200).map { .accepted(sequence: Int64($0)) })
        let stats: WALBuffer.Stats? = await withCheckedContinuation { done in
            store.submitCommand(failed: { _ in nil }, completion: { done.resume(returning: $0) }) { db, _ in
                db.walBufferStats
            }
        }
        let log = try #require(stats, "the writer's log is not buffered")
        #expect(log.commits >= 1)
        #expect(log.made * 4 < log.asked, "\(log)")
        #expect(try store.lotHistory(lot("CAP", "C200"))?.count == 1)
        store.close()

        let reopened = try fixture.open()
        defer { reopened.close() }
        #expect(try reopened.lotHistory(lot("CAP", "C1"))?.count == 1)
        try fixture.expectAuditIntact()
    }
}
