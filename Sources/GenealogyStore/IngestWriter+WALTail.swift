import Dispatch
import Foundation
import SQLite

/// The writer's part in keeping the WAL short (see `WALCheckpointer`): it copies the log's tail
/// itself when the checkpointer asks, and when the log has grown past `WriterInbox.walFrameLimit`
/// anyway. Writer thread only.
extension IngestWriter {
    /// Copies the WAL's tail if the checkpointer asked for it: at once, before the next batch or
    /// while idle, whatever is queued. The tail is what was committed since the checkpointer's last
    /// pass, and every batch committed first makes it longer: a writer too busy to find an idle
    /// moment soon copied five times as many frames (bench/RESULTS.md, "The writer copies the
    /// WAL's tail as soon as it is asked"). About half of a copy's time is the two syncs any copy
    /// makes.
    func copyWALTailIfWanted() {
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
