import Dispatch
import Foundation
import SQLite

/// The writer's part in readiness: after every transaction it tells `StoreCondition` whether it
/// committed, and while they fail and nothing is queued it tries a one-row probe transaction every
/// `commitProbeInterval` (an upsert of `writer_probe`), so that the store reports itself writable
/// again when space comes back, without waiting for a client to publish. Writer thread only.
extension IngestWriter {
    /// Reports to `condition`; called once, before `start()`.
    func watchCommits(_ condition: StoreCondition, probeEvery interval: Duration) {
        self.condition = condition
        commitProbeInterval = interval
    }

    /// After a transaction: `error` nil when it committed.
    func committed(failure error: SQLiteError?) {
        if let error {
            failing = true
            condition?.recordCommit(failure: "\(error.message) [code \(error.code.rawValue)]")
        } else if failing {
            failing = false
            condition?.recordCommit(failure: nil)
            logger.notice("store.commits.recovered")
        }
    }

    /// Waits for work like `run` does, but for at most `commitProbeInterval`; then probes.
    func waitOrProbe() {
        let seconds =
            Double(commitProbeInterval.components.seconds)
            + Double(commitProbeInterval.components.attoseconds) / 1e18
        guard inbox.wakeup.wait(timeout: .now() + seconds) == .timedOut else { return }
        // No signal came: take the waiting flag back. Whoever cleared it meanwhile (a submitter,
        // the checkpointer) has signalled or is about to: take that signal, so that none is left over.
        let signalComing = inbox.queue.withLock { queue in
            let cleared = !queue.writerWaiting
            queue.writerWaiting = false
            return cleared
        }
        if signalComing {
            inbox.wakeup.wait()
        } else {
            probe()
        }
    }

    /// One small transaction that must reach the disk to commit (synced by `CommitSyncer` when
    /// the connection commits without syncing). Never after a failed sync: that stays until restart.
    private func probe() {
        guard let db = connection, syncer?.failure == nil else { return }
        do throws(SQLiteError) {
            try db.run("BEGIN IMMEDIATE")
            try db.cachedStatement(
                "INSERT INTO writer_probe (id, at_ms) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms"
            ).run([.integer(Int64(Date().timeIntervalSince1970 * 1000))])
            try db.run("COMMIT")
            if let failure = syncer?.syncProbe() {
                logger.error("store.probe.sync_failed", metadata: ["error": "\(failure)"])
                return  // the store stays failing: `CommitSyncer` reported the failed sync
            }
            committed(failure: nil)
        } catch {
            if db.isInTransaction { try? db.run("ROLLBACK") }
            committed(failure: error)
        }
    }
}
