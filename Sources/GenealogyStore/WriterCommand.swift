import Foundation
import SQLite

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
