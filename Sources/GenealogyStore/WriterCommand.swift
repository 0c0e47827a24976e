import Foundation
import MESDomain
import SQLite
import Synchronization

/// Work other than an event that must run on the writer thread, inside a batch's transaction, so
/// that it serializes with ingest (a hold and the Shipped events around it see one order).
///
/// `body` runs on the writer thread inside its own savepoint, with the write connection and the
/// batch's wall clock; throwing rolls the savepoint back and the submission completes `.failed`.
struct WriterCommand: Sendable {
    let body: @Sendable (SQLiteConnection, Int64) throws(SQLiteError) -> Void
}

extension IngestWriter {
    /// Runs one command inside its own savepoint (`WriterSavepoint`): its failure rolls back only
    /// the savepoint, with the audit head and the hold cache.
    func run(_ command: WriterCommand, _ db: SQLiteConnection, held: HeldNodes) throws(SQLiteError) -> IngestOutcome {
        do throws(SQLiteError) {
            try WriterSavepoint.run("command", on: db, held: held) { () throws(SQLiteError) in
                .release(try command.body(db, Int64(Date().timeIntervalSince1970 * 1000)))
            }
            return .accepted(sequence: 0)
        } catch {
            guard db.isInTransaction else { throw error }
            return .failed(GenealogyStoreError(.eventFailed, "the store command failed", underlying: error))
        }
    }
}

extension GenealogyStore {
    /// Runs `body` on the writer thread as a command of its own batch (see `WriterCommand`) and hands
    /// its answer to `completion` once the batch commits; `failed` makes the answer of a store that
    /// could not run it (queue full, closed, the transaction failed). The writer may run a command
    /// twice (its batch retried with savepoints): the last run's answer counts.
    func submitCommand<Answer: Sendable>(
        failed: @escaping @Sendable (GenealogyStoreError) -> Answer,
        completion: @escaping @Sendable (Answer) -> Void,
        _ body: @escaping @Sendable (SQLiteConnection, Int64) throws(SQLiteError) -> Answer
    ) {
        let answer = Mutex<Answer?>(nil)
        let command = WriterCommand { db, nowMs throws(SQLiteError) in
            let outcome = try body(db, nowMs)
            answer.withLock { $0 = outcome }
        }
        let placeholder = IngestRequest(event: Event(eventID: "", occurredAtMs: 0, body: nil), raw: [], client: "")
        let submitted = submit(placeholder, command: command) { outcome in
            switch outcome {
            case .failed(let error): completion(failed(error))
            case .accepted, .duplicate:
                completion(
                    answer.withLock { $0 }
                        ?? failed(GenealogyStoreError(.eventFailed, "the store command gave no answer")))
            }
        }
        switch submitted {
        case .queued: break
        case .full: completion(failed(GenealogyStoreError(.queueFull, "the store's queue is full; retry")))
        case .closed: completion(failed(GenealogyStoreError(.closed, "the store is closed")))
        }
    }
}
