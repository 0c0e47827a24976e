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
/// makes its fsync a journal commit too. So once the log is long (see below) the
/// checkpointer goes round every 10 ms (so each pass leaves little behind), and after a pass that
/// copied everything it found it asks the writer to copy the short tail that came in meanwhile
/// itself, between two batches (`WriterInbox.walTailCopy`): no frame is appended during that copy,
/// so it completes, and the writer's next transaction writes from the start of the log again.
/// The writer pays for a tail of a few milliseconds' commits, not for the log, and pays it before
/// its next batch, whose commit would make the tail longer (`IngestWriter.copyWALTailIfWanted`).
///
/// The tail is what was committed while the last pass ran: the writer copies every page those
/// commits wrote, and the acks wait behind it. So after a pass that took longer than `shortPass`
/// the checkpointer passes again at once instead of asking, as each pass leaves the commits of its
/// own duration behind, until a pass is short or `maxPassesInARow` were made (`afterPass`).
///
/// The tail copy also makes the only sync of the database file under load: SQLite syncs it at the
/// end of a pass only when no commit came during the pass, and reports the pass complete either
/// way (every frame of the log as the pass began). That sync waits for every page the
/// checkpointer's passes left in the kernel's cache, and is most of a copy's 10 ms (where the p99
/// under load lives: bench/RESULTS.md, 2026-12-05). Writing those pages out from the checkpointer
/// after each pass made the copies short but the log's syncs, which the acks wait for, slower,
/// and the acks' p99 no better (bench/RESULTS.md, 2026-12-06).
///
/// "Long" is relative to the database: a quarter of its pages, at least 1 MiB (unless
/// `restartFrames` is lower), at most `restartFrames`, so a young store's log stays near its own size instead of growing to tens of
/// MiB before its first restart (a fresh store filled an 8 MiB disk with its WAL). The writer
/// tells the checkpointer after each commit how long the log is (`walCommitted`, through SQLite's
/// WAL hook) and wakes it as soon as the log is long, rather than at its next 250 ms pass. If the
/// passes still fall behind (fast commits, a slow fsync of the database file) and the log reaches
/// twice that length, the writer copies it itself before its next transaction
/// (`IngestWriter.boundWAL`): the log stays within about twice "long" plus one batch.
final class WALCheckpointer: @unchecked Sendable {
    private let path: String
    private let inbox: WriterInbox
    private let interval: DispatchTimeInterval
    private let restartFrames: Int
    private let logger: Logger
    private let wakeup = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchGroup()
    /// The log length (frames) that counts as long now (see above); set by each pass.
    private let longLogFrames: Atomic<Int>
    /// Set when the writer woke the thread for a long log, cleared when it wakes.
    private let nudged = Atomic<Bool>(false)
    /// 1 MiB of 4 KiB pages: a log shorter than this never counts as long.
    static let minimumLongLogFrames = 256
    /// A pass that copied everything in less time than this leaves the writer a short tail.
    static let shortPass: UInt64 = 3_000_000
    /// The passes made at once after a long one, at most, before the writer is asked to copy
    /// whatever tail is left.
    static let maxPassesInARow = 4

    init(
        path: String, inbox: WriterInbox, interval: DispatchTimeInterval = .milliseconds(250),
        restartFrames: Int = 4_096, logger: Logger
    ) {
        self.path = path
        self.inbox = inbox
        self.interval = interval
        self.restartFrames = restartFrames
        longLogFrames = Atomic(min(Self.minimumLongLogFrames, restartFrames))
        self.logger = logger
    }

    /// Starts the thread. Called once, by `GenealogyStore.open`, after migrations.
    func start() {
        finished.enter()
        let thread = Thread { [self] in self.run() }
        thread.start()
    }

    /// Makes the writer's connection report each commit's log length (replaces SQLite's automatic
    /// checkpoint, which the store turns off). Called once, by `GenealogyStore.open`.
    func watch(_ writer: SQLiteConnection) {
        writer.onWALCommit { [self] frames in walCommitted(frames: frames) }
    }

    /// On the writer thread after each commit: wakes the thread once the log is long. Not while
    /// the writer is asked to copy the tail: a pass running when the writer begins its next
    /// transaction would keep the log from starting over.
    func walCommitted(frames: Int) {
        inbox.walFrames.store(frames, ordering: .relaxed)
        guard frames >= longLogFrames.load(ordering: .relaxed),
            inbox.walTailCopy.load(ordering: .relaxed) == WALTailCopy.none
        else { return }
        if !nudged.exchange(true, ordering: .acquiringAndReleasing) { wakeup.signal() }
    }

    /// The frames that make a long log for a database of `pages` pages (see the type's comment).
    static func longLogFrames(pages: Int, cap: Int) -> Int {
        min(max(minimumLongLogFrames, pages / 4), cap)
    }

    /// The longest the log may get, with `long` frames counting as long, before the writer copies
    /// it itself (`IngestWriter.boundWAL`): twice that.
    static func boundFrames(long: Int) -> Int { 2 * long }

    /// What the thread does after a pass.
    enum AfterPass: Equatable {
        /// Ask the writer to copy the tail, so that the log starts over.
        case askWriter
        /// Pass again at once: this one took long, so it left a long tail.
        case passAgain
        /// Wait for the next pass (10 ms if the log is long, else `interval`).
        case wait
    }

    /// After a pass that took `nanoseconds` and copied everything it found (`complete`), or not, of
    /// a log that is `long` or not, while a request to the writer is still `pending` or not: the
    /// `passesInARow`-th pass made at once after another.
    static func afterPass(long: Bool, complete: Bool, pending: Bool, nanoseconds: UInt64, passesInARow: Int)
        -> AfterPass
    {
        guard long, complete, !pending else { return .wait }
        return nanoseconds > shortPass && passesInARow < maxPassesInARow ? .passAgain : .askWriter
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
        // started over (it got shorter), or 100 ms later if it has not (a reader kept an old
        // snapshot).
        var askedAt: UInt64?
        var lastLog = 0
        // Passes made at once after the one before (`afterPass`); 0 after a wait.
        var inARow = 0
        while !stopping.load(ordering: .acquiring) {
            // A long log: a short breath between passes, so each leaves little behind.
            // After a wait only: a pass made at once leaves the writer's nudge pending, so that its
            // signals do not pile up and cut the next waits short.
            if inARow == 0 {
                _ = wakeup.wait(timeout: .now() + (longLog ? .milliseconds(10) : interval))
                nudged.store(false, ordering: .releasing)
            }
            if stopping.load(ordering: .acquiring) { break }
            // The writer has been asked to copy the tail and has not finished: no pass meanwhile.
            if inbox.walTailCopy.load(ordering: .acquiring) != WALTailCopy.none {
                inARow = 0
                continue
            }
            do {
                let started = DispatchTime.now().uptimeNanoseconds
                let pass = try db.checkpoint(.passive)
                if case .integer(let pages) = try db.scalar("PRAGMA page_count") {
                    let long = Self.longLogFrames(pages: Int(pages), cap: restartFrames)
                    longLogFrames.store(long, ordering: .relaxed)
                    inbox.walFrameLimit.store(Self.boundFrames(long: long), ordering: .relaxed)
                }
                longLog = pass.log >= longLogFrames.load(ordering: .relaxed)
                let now = DispatchTime.now().uptimeNanoseconds
                if pass.log < lastLog { askedAt = nil }  // it started over
                lastLog = pass.log
                let waiting = askedAt.map { now < $0 + 100_000_000 } ?? false
                switch Self.afterPass(
                    long: longLog, complete: pass.checkpointed == pass.log, pending: waiting,
                    nanoseconds: now - started, passesInARow: inARow)
                {
                case .askWriter:
                    inARow = 0
                    inbox.walTailCopy.store(WALTailCopy.wanted, ordering: .releasing)
                    askedAt = now
                    wakeIdleWriter()
                case .passAgain:
                    inARow += 1
                case .wait:
                    inARow = 0
                }
            } catch {
                inARow = 0
                longLog = false
                logger.warning("store.checkpoint.failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

extension WALCheckpointer {
    /// A writer waiting for work copies the tail now rather than when the next event comes (see
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
