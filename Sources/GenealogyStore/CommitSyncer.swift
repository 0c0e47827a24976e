import Dispatch
import Foundation
import Logging
import MESDomain
import Synchronization

/// A transaction the writer ended, waiting to be told: its submissions' outcomes and the
/// exceptions it changed.
struct EndedBatch {
    let submissions: [Submission]
    let outcomes: [IngestOutcome]
    let exceptions: [PlantException]
}

/// Syncs the write-ahead log after the writer's commits, then completes their submissions: the
/// writer runs the next transaction while the disk syncs the last ones.
///
/// The write connection commits without `fdatasync` (the buffered log's settings, `WALBuffer`, or
/// `synchronous = NORMAL`: SQLite writes the commit to the log and no more); nothing of a batch
/// leaves the store until the log is synced here: not its acks, not its exceptions
/// (`ExceptionFeed`). An ack therefore still means the event survives power loss, as with
/// `synchronous = FULL`, and one sync covers every batch committed before it began, so under load
/// one sync serves several commits. SQLite still syncs the log itself where recovery depends on
/// it: the log's header when the log starts over, the log before a checkpoint copies it.
///
/// Batches are told in commit order, on the syncer's thread (`mesgate-syncer`). The writer runs at
/// most `limit` events ahead of the acks: past that, `hand` waits, the submission queue fills and
/// clients are told to wait (`SubmitResult.full`), as when the writer itself waited for the disk.
///
/// When a sync fails, what was committed since the last one may be lost. Those batches and every
/// later one fail with `.commitFailed`; the writer stores nothing more (`failure`), the log refuses
/// every other sync in the process (`WALFile.markFailed`: the poster and replication tell nobody),
/// and the store reports itself failing, until it is opened again: a file whose sync failed cannot
/// be trusted to have kept anything written since.
final class CommitSyncer: Sendable {
    private struct State {
        var waiting: [EndedBatch] = []
        /// Events handed and not yet told (those being synced included).
        var untold = 0
        var writerWaitsForRoom = false
        var stopping = false
        var syncerBusy = false
        /// Set by the first failed sync; never cleared.
        var failure: WALSyncError?
    }

    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)
    private let room = DispatchSemaphore(value: 0)
    private let stopped = DispatchGroup()
    private let limit: Int
    private let wal: WALFile
    private let sync: @Sendable () throws(WALSyncError) -> Void
    private let inbox: WriterInbox
    private let exceptions: ExceptionFeed
    private let condition: StoreCondition?
    private let logger: Logger

    /// `limit`: events the writer may run ahead of the acks (at least one batch's worth). `sync`
    /// makes the log durable: `wal.sync` unless a test gives its own.
    init(
        wal: WALFile, limit: Int, inbox: WriterInbox, exceptions: ExceptionFeed, condition: StoreCondition?,
        logger: Logger, sync: (@Sendable () throws(WALSyncError) -> Void)? = nil
    ) {
        self.wal = wal
        self.limit = max(1, limit)
        self.inbox = inbox
        self.exceptions = exceptions
        self.condition = condition
        self.logger = logger
        self.sync = sync ?? wal.sync
    }

    /// Starts the syncer thread. Called once, before the writer's.
    func start() {
        stopped.enter()
        let thread = Thread { [self] in
            Thread.current.name = "mesgate-syncer"
            self.inbox.markCompletionThread()
            self.run()
        }
        thread.start()
    }

    /// The failed sync, once one failed: the writer then stores nothing more.
    var failure: WALSyncError? { state.withLock { $0.failure } }

    /// Events handed and not yet told.
    var untoldEvents: Int { state.withLock { $0.untold } }

    /// Writer thread, after each transaction (committed or not): `batch` is told after the next
    /// sync. Waits while more than `limit` events are untold.
    func hand(_ batch: EndedBatch) {
        let (wake, full) = state.withLock { state -> (Bool, Bool) in
            state.waiting.append(batch)
            state.untold += batch.submissions.count
            let full = state.untold > limit
            state.writerWaitsForRoom = full
            if state.syncerBusy { return (false, full) }
            state.syncerBusy = true
            return (true, full)
        }
        if wake { wakeup.signal() }
        if full { room.wait() }
    }

    /// Tells everything handed so far, then ends the thread and waits for it. Writer thread, at close.
    func stop() {
        let wake = state.withLock { state -> Bool in
            state.stopping = true
            if state.syncerBusy { return false }
            state.syncerBusy = true
            return true
        }
        if wake { wakeup.signal() }
        stopped.wait()
    }

    private func run() {
        defer { stopped.leave() }
        while true {
            wakeup.wait()
            while true {
                let (batches, stopping, failure) = state.withLock { state in
                    let batches = state.waiting
                    state.waiting.removeAll(keepingCapacity: true)
                    if batches.isEmpty { state.syncerBusy = false }
                    return (batches, state.stopping, state.failure)
                }
                if batches.isEmpty {
                    if stopping { return }
                    break
                }
                tell(batches, synced: failure ?? syncOnce())
                let told = batches.reduce(0) { $0 + $1.submissions.count }
                let freeWriter = state.withLock { state -> Bool in
                    state.untold -= told
                    guard state.writerWaitsForRoom && state.untold <= limit else { return false }
                    state.writerWaitsForRoom = false
                    return true
                }
                if freeWriter { room.signal() }
            }
        }
    }

    /// The writer's probe (`IngestWriter+Condition`): a sync of the log on the writer's thread, so
    /// that the probe's commit too must reach the disk. Its failure counts as any sync's.
    func syncProbe() -> WALSyncError? {
        if let failure { return failure }
        return syncOnce()
    }

    /// One `fdatasync`; the error, now and for good, when it fails.
    private func syncOnce() -> WALSyncError? {
        let started = DispatchTime.now().uptimeNanoseconds
        do throws(WALSyncError) {
            try sync()
            StoreMetrics.walSyncDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
            return nil
        } catch {
            state.withLock { $0.failure = error }
            wal.markFailed(error)
            logger.critical(
                "store.wal.sync_failed",
                metadata: [
                    "error": "\(error)",
                    "detail":
                        "commits since the last sync may be lost; nothing is stored or acknowledged until mesgate restarts",
                ])
            condition?.recordSyncFailure("the write-ahead log could not be synced: \(error)")
            return error
        }
    }

    private func tell(_ batches: [EndedBatch], synced failure: WALSyncError?) {
        for batch in batches {
            if let failure {
                let error = Self.failed(failure)
                for submission in batch.submissions { submission.completion(.failed(error)) }
                continue
            }
            exceptions.tell(batch.exceptions)
            for (submission, outcome) in zip(batch.submissions, batch.outcomes) { submission.completion(outcome) }
        }
    }

    /// What a submission is answered after a failed sync.
    static func failed(_ failure: WALSyncError) -> GenealogyStoreError {
        GenealogyStoreError(
            .commitFailed,
            "the write-ahead log could not be synced to the disk (\(failure)); nothing is stored until mesgate restarts"
        )
    }
}
