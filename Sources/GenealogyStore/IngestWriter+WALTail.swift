import Dispatch
import Foundation
import SQLite

/// The writer's part in keeping the WAL short (see `WALCheckpointer`): it copies the log's tail
/// itself when the checkpointer asks, and when the log has grown past `WriterInbox.walFrameLimit`
/// anyway. Writer thread only.
extension IngestWriter {
    /// How long a wanted tail copy may wait for the writer to have nothing to commit. Copying
    /// while events are queued holds their acks back by the copy's duration; when the queue is
    /// empty only events arriving during the copy wait. Under a load that never lets the queue
    /// empty, the copy is made between two batches after this long.
    static let tailCopyPatienceNanos: UInt64 = 20_000_000

    /// Copies the WAL's tail if the checkpointer asked for it and the writer is idle (or has
    /// kept it waiting for `tailCopyPatienceNanos`).
    func copyWALTailIfWanted(idle: Bool) {
        guard inbox.walTailCopy.load(ordering: .acquiring) == WALTailCopy.wanted else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let askedAt = tailCopyAskedAt ?? now
        tailCopyAskedAt = askedAt
        guard idle || now - askedAt >= Self.tailCopyPatienceNanos else { return }
        tailCopyAskedAt = nil
        if inbox.walTailCopy.compareExchange(
            expected: WALTailCopy.wanted, desired: WALTailCopy.copying, ordering: .acquiringAndReleasing
        ).exchanged {
            copyWALTail()
            inbox.walTailCopy.store(WALTailCopy.none, ordering: .releasing)
        }
    }

    /// A PASSIVE checkpoint on the write connection: with no frame appended meanwhile it copies
    /// the whole log, so the next transaction writes from the start of the WAL again.
    private func copyWALTail() {
        guard let db = connection else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            let pass = try db.checkpoint(.passive)
            StoreMetrics.walTailCopy.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
            logger.trace(
                "store.wal.tail_copied", metadata: ["frames": "\(pass.log)", "copied": "\(pass.checkpointed)"])
        } catch {
            logger.warning("store.checkpoint.failed", metadata: ["error": "\(error)"])
        }
    }

    /// When the log is longer than `walFrameLimit` (twice what counts as long), because the
    /// checkpointer's passes fall behind fast commits (a slow fsync of the database file), copies
    /// it before the next transaction: waits for the pass in progress (at most 100 ms) and then
    /// copies the tail, so the next commit writes from the start of the log again. A reader on an
    /// old snapshot (a long export) keeps frames from being copied: then it gives up at once and
    /// tries again only when the log has grown by another `walFrameLimit`.
    func boundWAL() {
        let frames = inbox.walFrames.load(ordering: .relaxed)
        let limit = inbox.walFrameLimit.load(ordering: .relaxed)
        guard frames >= max(limit, walBoundRetryFrames), let db = connection else { return }
        let state = inbox.walTailCopy.load(ordering: .acquiring)
        guard
            state != WALTailCopy.copying,
            inbox.walTailCopy.compareExchange(
                expected: state, desired: WALTailCopy.copying, ordering: .acquiringAndReleasing
            ).exchanged
        else { return }
        tailCopyAskedAt = nil
        defer { inbox.walTailCopy.store(WALTailCopy.none, ordering: .releasing) }
        let started = DispatchTime.now().uptimeNanoseconds
        while true {
            do {
                let pass = try db.checkpoint(.passive)
                if !pass.busy && pass.checkpointed == pass.log { break }
                // Not busy yet not all copied: a reader holds an old snapshot; waiting would not help.
                // Busy: a checkpointer pass that began before `.copying` is still running.
                guard pass.busy, DispatchTime.now().uptimeNanoseconds - started < 100_000_000 else {
                    walBoundRetryFrames = frames + limit
                    return
                }
            } catch {
                logger.warning("store.checkpoint.failed", metadata: ["error": "\(error)"])
                walBoundRetryFrames = frames + limit
                return
            }
            usleep(1_000)
        }
        StoreMetrics.walTailCopy.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        walBoundRetryFrames = 0
        inbox.walFrames.store(0, ordering: .relaxed)
    }
}
