import Dispatch
import Foundation
import Logging
import MESDomain
import SQLite
import Synchronization

#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif

/// What the submitting threads and the writer thread share: the queue behind a lock, the signal
/// that wakes the writer, and the group `close()` waits on.
final class WriterInbox: Sendable {
    let queue: Mutex<SubmissionQueue>
    /// Signalled once per wait, by whoever finds `writerWaiting` set (see `SubmissionQueue`).
    let wakeup = DispatchSemaphore(value: 0)
    /// Entered before the writer thread starts, left when it has stopped and checkpointed.
    let finished = DispatchGroup()
    /// Transactions committed so far (one per batch).
    let committedBatches = Atomic<Int>(0)
    /// `WALTailCopy`: set to `.wanted` by the checkpointer when only a short tail of a long WAL is
    /// left to copy; the writer copies it between two batches (`.copying`, then `.none`), so the
    /// log can start over (see `WALCheckpointer`). The checkpointer makes no pass meanwhile: two
    /// checkpoints cannot run at once, and a writer's PASSIVE one would just give up.
    let walTailCopy = Atomic<Int>(WALTailCopy.none)
    /// Frames in the WAL after the writer's last commit (SQLite's WAL hook; see `WALCheckpointer`).
    let walFrames = Atomic<Int>(0)
    /// The longest the WAL may get before the writer copies it itself (`IngestWriter.boundWAL`);
    /// set by the checkpointer.
    let walFrameLimit = Atomic<Int>(WALCheckpointer.boundFrames(long: WALCheckpointer.minimumLongLogFrames))
    /// The writer thread's `pthread_self()`, 0 until it runs.
    private let writerThreadID = Atomic<UInt>(0)
    /// The thread that completes submissions when it is not the writer (`CommitSyncer`'s), 0 if none.
    private let completionThreadID = Atomic<UInt>(0)

    init(capacity: Int) {
        queue = Mutex(SubmissionQueue(capacity: capacity))
    }

    /// Called first thing on the writer thread.
    func markWriterThread() { writerThreadID.store(Self.currentThreadID(), ordering: .releasing) }

    /// Called first thing on `CommitSyncer`'s thread.
    func markCompletionThread() { completionThreadID.store(Self.currentThreadID(), ordering: .releasing) }

    /// Whether the caller runs on one of the threads `close()` waits for: the writer's, or the one
    /// that completes submissions (inside a completion).
    var isStoreThread: Bool {
        let current = Self.currentThreadID()
        return writerThreadID.load(ordering: .acquiring) == current
            || completionThreadID.load(ordering: .acquiring) == current
    }

    private static func currentThreadID() -> UInt {
        #if canImport(Darwin)
            UInt(bitPattern: pthread_self())
        #else
            UInt(pthread_self())
        #endif
    }
}

/// The single writer: owns the write connection and commits batches on its own thread.
///
/// `@unchecked Sendable` because it is handed to that thread once: the opening thread creates it
/// and never touches it again after `Thread.start()`; from then on only the writer thread uses
/// `db` (and the statements it caches). The connection is closed when the thread ends.
final class IngestWriter: @unchecked Sendable {
    private var db: SQLiteConnection?
    let inbox: WriterInbox
    /// What the write connection carries (its `attachment`): the audit head, the exceptions to
    /// tell after COMMIT, the node cache and the outbox tally, each kept in step with the
    /// transaction through `WriterMirrors`.
    let mirrors: WriterMirrors
    private let maxBatchEvents: Int
    private let maxBatchBytes: Int
    /// `StoreOptions.holdOnQualityFail`; set before `start()`.
    var holdOnQualityFail = false
    /// `StoreOptions.sameEvent`; set before `start()`.
    var sameEvent: (@Sendable ([UInt8], Event) -> Bool)?
    /// `StoreOptions.masterData`; set before `start()`.
    var masterData = MasterDataChecks()
    /// What the writer read of the master data, kept from batch to batch (`MasterDataCache`).
    private let masterDataCache = MasterDataCache()
    /// Whether closing ends with a TRUNCATE checkpoint: the server's writer does, a tool's
    /// (`GenealogyStore.openForTool`) leaves the log to the server. Set before `start()`.
    var checkpointsOnClose = true
    /// What open propagating holds cover; writer thread only (see `HeldNodes`).
    private let heldNodes = HeldNodes()
    let logger: Logger
    /// When `StoreMetrics.writerCacheBytes` was last recorded.
    private var cacheSampledAtNanos: UInt64 = 0
    /// Told each time commits start or stop failing (see `IngestWriter+Condition`); set before `start()`.
    var condition: StoreCondition?
    var commitProbeInterval: Duration = .seconds(1)
    /// Whether the last transaction failed; writer thread only.
    var failing = false
    /// Syncs the log and completes the batches when commits are not synced by SQLite (the store's
    /// `synchronous` full); nil: the writer completes each batch itself. Set before `start()`.
    var syncer: CommitSyncer?

    init(
        db: SQLiteConnection, inbox: WriterInbox, mirrors: WriterMirrors, maxBatchEvents: Int, maxBatchBytes: Int,
        logger: Logger
    ) {
        self.mirrors = mirrors
        self.db = db
        self.inbox = inbox
        self.maxBatchEvents = max(1, maxBatchEvents)
        self.maxBatchBytes = max(1, maxBatchBytes)
        self.logger = logger
    }

    /// Starts the writer thread. Called once, by `GenealogyStore.open`.
    func start() {
        inbox.finished.enter()
        syncer?.start()
        let thread = Thread { [self] in
            // Named from inside: on Linux a thread otherwise keeps its creator's name.
            Thread.current.name = "mesgate-writer"
            self.run()
        }
        thread.start()
    }

    private enum Step {
        case commit([Submission])
        case wait
        case stop
    }

    /// The writer thread's loop: wait for work, take a batch, commit it, complete it; on close,
    /// drain the queue, checkpoint and close the connection.
    private func run() {
        inbox.markWriterThread()
        while true {
            let step = inbox.queue.withLock { queue -> Step in
                let batch = queue.take(max: maxBatchEvents, maxBytes: maxBatchBytes)
                if !batch.isEmpty { return .commit(batch) }
                if queue.lifecycle != .open { return .stop }
                queue.writerWaiting = true
                return .wait
            }
            copyWALTailIfWanted()
            if case .commit = step { boundWAL() }
            switch step {
            case .commit(let batch): commit(batch)
            case .wait: failing ? waitOrProbe() : inbox.wakeup.wait()
            case .stop:
                finish()
                return
            }
        }
    }

    /// After a `boundWAL` that could not copy everything: the log length at which it tries again.
    var walBoundRetryFrames = 0

    /// The write connection, for the probe and the tail copy; nil once closed.
    var connection: SQLiteConnection? { db }

    private func finish() {
        syncer?.stop()  // every completion has run before `close()` returns
        if checkpointsOnClose, let db {
            do {
                let result = try db.checkpoint(.truncate)
                logger.debug("store.checkpoint", metadata: ["busy": "\(result.busy)", "frames": "\(result.log)"])
            } catch {
                logger.error("store.checkpoint.failed", metadata: ["error": "\(error)"])
            }
        }
        db = nil  // closes the write connection on this thread
        inbox.queue.withLock { $0.markClosed() }
        inbox.finished.leave()
    }

    /// One transaction for the whole batch; completions after COMMIT (and the log's sync), in order.
    private func commit(_ batch: [Submission]) {
        let outcomes: [IngestOutcome]
        if let failure = syncer?.failure {
            // The disk lost what it was given: store nothing more (`CommitSyncer`).
            outcomes = Array(repeating: .failed(CommitSyncer.failed(failure)), count: batch.count)
        } else if let db {
            let started = DispatchTime.now().uptimeNanoseconds
            if let oldest = batch.first?.submittedAtNanos, oldest < started {
                StoreMetrics.queueWait.recordNanoseconds(Int64(started - oldest))
            }
            outcomes = commit(batch, on: db)
            let ended = DispatchTime.now().uptimeNanoseconds
            StoreMetrics.commitDuration.recordNanoseconds(Int64(ended - started))
            if ended >= cacheSampledAtNanos + 1_000_000_000 {
                cacheSampledAtNanos = ended
                StoreMetrics.writerCacheBytes.record(db.cacheUsedBytes)
            }
        } else {
            let error = GenealogyStoreError(.closed, "the store's write connection is closed")
            outcomes = Array(repeating: .failed(error), count: batch.count)
        }
        StoreMetrics.committed(outcomes, of: batch)
        // What the committed transaction changed; nothing after a rollback (`WriterMirrors`).
        let ended = EndedBatch(submissions: batch, outcomes: outcomes, exceptions: mirrors.committed())
        if let syncer {
            syncer.hand(ended)
        } else {
            mirrors.exceptions.tell(ended.exceptions)
            for (submission, outcome) in zip(batch, outcomes) { submission.completion(outcome) }
        }
    }

    /// Tries the batch without savepoints first (the common case: every event stores); if any
    /// event fails, rolls the batch back and records it again with one savepoint per event, so
    /// only the failing events fail.
    private func commit(_ batch: [Submission], on db: SQLiteConnection) -> [IngestOutcome] {
        var recorder = EventRecorder(db: db, nowMs: Int64(Date().timeIntervalSince1970 * 1000), held: heldNodes)
        recorder.holdOnQualityFail = holdOnQualityFail
        recorder.sameEvent = sameEvent
        recorder.masterData = masterData
        recorder.masterDataCache = masterDataCache
        do throws(SQLiteError) {
            try db.run("BEGIN IMMEDIATE")
            try mirrors.beginTransaction(db)
            if masterData.decode != nil { try masterDataCache.refresh(db) }
            var outcomes: [IngestOutcome] = []
            outcomes.reserveCapacity(batch.count)
            for submission in batch {
                if let command = submission.command {
                    try command.body(db, recorder.rows.nowMs)
                    heldNodes.markStale()  // commands place and release holds
                    outcomes.append(.accepted(sequence: 0))
                    continue
                }
                switch try recorder.record(submission.request) {
                case .stored(let sequence): outcomes.append(.accepted(sequence: sequence))
                case .duplicate(let sequence): outcomes.append(.duplicate(sequence: sequence))
                case .refused(let reason): outcomes.append(.failed(GenealogyStoreError(.refused, reason)))
                case .conflict(let reason): outcomes.append(.failed(GenealogyStoreError(.conflict, reason)))
                case .invalid(let field, let reason):
                    outcomes.append(.failed(GenealogyStoreError(.invalid, reason, field: field)))
                }
            }
            try mirrors.beforeCommit(db)
            try db.run("COMMIT")
            inbox.committedBatches.add(1, ordering: .relaxed)
            committed(failure: nil)
            return outcomes
        } catch {
            if db.isInTransaction { try? db.run("ROLLBACK") }
            mirrors.transactionRolledBack()
            heldNodes.markStale()
            logger.debug("store.batch.retry", metadata: ["events": "\(batch.count)", "error": "\(error)"])
        }
        return commitWithSavepoints(batch, recorder, on: db)
    }

    private func commitWithSavepoints(_ batch: [Submission], _ recorder: EventRecorder, on db: SQLiteConnection)
        -> [IngestOutcome]
    {
        var outcomes: [IngestOutcome] = []
        outcomes.reserveCapacity(batch.count)
        do throws(SQLiteError) {
            try db.run("BEGIN IMMEDIATE")
            try mirrors.beginTransaction(db)
            if masterData.decode != nil { try masterDataCache.refresh(db) }
            for submission in batch {
                if let command = submission.command {
                    outcomes.append(try run(command, db, held: heldNodes))
                    heldNodes.markStale()
                } else {
                    outcomes.append(try record(submission.request, recorder, db))
                }
            }
            try mirrors.beforeCommit(db)
            try db.run("COMMIT")
            inbox.committedBatches.add(1, ordering: .relaxed)
            committed(failure: nil)
            return outcomes
        } catch {
            if db.isInTransaction { try? db.run("ROLLBACK") }
            mirrors.transactionRolledBack()
            heldNodes.markStale()
            logger.error("store.commit.failed", metadata: ["events": "\(batch.count)", "error": "\(error)"])
            committed(failure: error)
            let failure = GenealogyStoreError(.commitFailed, "the batch's transaction failed", underlying: error)
            return Array(repeating: .failed(failure), count: batch.count)
        }
    }

    /// Records one event inside its own savepoint (`WriterSavepoint`). A failure of the event rolls
    /// back only the savepoint; a failure that ended the transaction (SQLite rolls back on I/O
    /// errors and the like) is thrown so the batch fails.
    private func record(_ request: IngestRequest, _ recorder: EventRecorder, _ db: SQLiteConnection)
        throws(SQLiteError) -> IngestOutcome
    {
        do throws(SQLiteError) {
            let result = try WriterSavepoint.run("event", on: db, held: recorder.held) {
                () throws(SQLiteError) in .release(try recorder.record(request))
            }
            switch result {
            case .stored(let sequence): return .accepted(sequence: sequence)
            case .duplicate(let sequence): return .duplicate(sequence: sequence)
            case .refused(let reason): return .failed(GenealogyStoreError(.refused, reason))
            case .conflict(let reason): return .failed(GenealogyStoreError(.conflict, reason))
            case .invalid(let field, let reason): return .failed(GenealogyStoreError(.invalid, reason, field: field))
            }
        } catch {
            guard db.isInTransaction else { throw error }
            logger.warning(
                "store.event.failed", metadata: ["event_id": "\(request.event.eventID)", "error": "\(error)"])
            return .failed(GenealogyStoreError(.eventFailed, "the event could not be stored", underlying: error))
        }
    }
}
