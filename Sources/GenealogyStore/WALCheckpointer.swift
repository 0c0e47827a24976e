import Dispatch
import Foundation
import Logging
import SQLite
import Synchronization

/// Copies the WAL back into the database file on a thread of its own, with PASSIVE checkpoints
/// (they never block the writer or readers). The writer's own automatic checkpoint is off, so a
/// commit, and the acks waiting on it, never pays for copying the log.
///
/// Under a steady load PASSIVE checkpoints alone never let the log start over: each one copies
/// the frames that were there when it began while the writer appends more, and SQLite rewinds
/// the log only when a writer finds every frame copied. The log would grow for as long as the
/// load lasts (hundreds of MiB in a few minutes), and every commit would grow the file, which
/// makes its fsync a journal commit too. So once the log is long (`restartFrames`) the
/// checkpointer goes round every 10 ms (so each pass leaves little behind), and after a pass that
/// copied everything it found it asks the writer to copy the short tail that came in meanwhile
/// itself, between two batches (`WriterInbox.walTailCopy`): no frame is appended during that copy,
/// so it completes, and the writer's next transaction writes from the start of the log again.
/// The writer pays for a tail of a few milliseconds' commits, not for the log, and pays it when it
/// has nothing queued if that comes soon (`IngestWriter.copyWALTailIfWanted`).
///
final class WALCheckpointer: @unchecked Sendable {
    private let path: String
    private let inbox: WriterInbox
    private let interval: DispatchTimeInterval
    private let restartFrames: Int
    private let logger: Logger
    private let wakeup = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchGroup()

    init(
        path: String, inbox: WriterInbox, interval: DispatchTimeInterval = .milliseconds(250),
        restartFrames: Int = 4_096, logger: Logger
    ) {
        self.path = path
        self.inbox = inbox
        self.interval = interval
        self.restartFrames = restartFrames
        self.logger = logger
    }

    /// Starts the thread. Called once, by `GenealogyStore.open`, after migrations.
    func start() {
        finished.enter()
        let thread = Thread { [self] in self.run() }
        thread.start()
    }

    /// Stops the thread after its current checkpoint and waits for it. Idempotent.
    func stop() {
        if !stopping.exchange(true, ordering: .acquiringAndReleasing) { wakeup.signal() }
        finished.wait()
    }

    private func run() {
        defer { finished.leave() }
        // Named from inside: on Linux a thread otherwise keeps its creator's name.
        Thread.current.name = "mesgate-ckpt"
        let db: SQLiteConnection
        do {
            db = try SQLiteConnection(path: path, mode: .readWrite)
        } catch {
            logger.error("store.checkpointer.open_failed", metadata: ["error": "\(error)"])
            return
        }
        var longLog = false
        // When the writer was last asked to copy the tail; it is asked again once the log has
        // started over (it got shorter), or a second later if it has not (a reader kept an old
        // snapshot).
        var askedAt: UInt64?
        var lastLog = 0
        while !stopping.load(ordering: .acquiring) {
            // A long log: a short breath between passes, so each leaves little behind.
            _ = wakeup.wait(timeout: .now() + (longLog ? .milliseconds(10) : interval))
            if stopping.load(ordering: .acquiring) { break }
            // The writer has been asked to copy the tail and has not finished: no pass meanwhile.
            if inbox.walTailCopy.load(ordering: .acquiring) != WALTailCopy.none { continue }
            do {
                let pass = try db.checkpoint(.passive)
                longLog = pass.log >= restartFrames
                let now = DispatchTime.now().uptimeNanoseconds
                if pass.log < lastLog { askedAt = nil }  // it started over
                lastLog = pass.log
                let waiting = askedAt.map { now < $0 + 1_000_000_000 } ?? false
                if longLog && !waiting && pass.checkpointed == pass.log {
                    inbox.walTailCopy.store(WALTailCopy.wanted, ordering: .releasing)
                    askedAt = now
                    wakeIdleWriter()
                }
            } catch {
                longLog = false
                logger.warning("store.checkpoint.failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

extension WALCheckpointer {
    /// A writer waiting for work copies the tail now rather than after the next batch (see
    /// `IngestWriter.copyWALTailIfWanted`): signalled like a submitter does, under the queue's lock.
    private func wakeIdleWriter() {
        let waiting = inbox.queue.withLock { queue in
            let waiting = queue.writerWaiting
            queue.writerWaiting = false
            return waiting
        }
        if waiting { inbox.wakeup.signal() }
    }
}

/// The states of `WriterInbox.walTailCopy`.
enum WALTailCopy {
    static let none = 0
    static let wanted = 1
    static let copying = 2
}
