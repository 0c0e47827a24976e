import Dispatch
import Foundation
import Logging
import SQLite
import Synchronization

/// Copies the WAL back into the database file on a thread of its own, every `interval`, with
/// PASSIVE checkpoints (they never block the writer or readers). The writer's own automatic
/// checkpoint is off, so a commit, and the acks waiting on it, never pays for a checkpoint.
///
/// `@unchecked Sendable`: `db` is created and used only on the checkpointer thread; the other
/// members are a semaphore, an atomic and a dispatch group, safe from any thread.
final class WALCheckpointer: @unchecked Sendable {
    private let path: String
    private let interval: DispatchTimeInterval
    private let logger: Logger
    private let wakeup = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchGroup()

    init(path: String, interval: DispatchTimeInterval = .milliseconds(250), logger: Logger) {
        self.path = path
        self.interval = interval
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
        while !stopping.load(ordering: .acquiring) {
            _ = wakeup.wait(timeout: .now() + interval)
            if stopping.load(ordering: .acquiring) { break }
            do {
                _ = try db.checkpoint(.passive)
            } catch {
                logger.warning("store.checkpoint.failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
