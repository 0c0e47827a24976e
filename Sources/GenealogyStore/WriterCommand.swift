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
    /// Runs one command inside its own savepoint (see `record`): its failure rolls back only the savepoint.
    func run(_ command: WriterCommand, _ db: SQLiteConnection) throws(SQLiteError) -> IngestOutcome {
        try db.run("SAVEPOINT command")
        do throws(SQLiteError) {
            try command.body(db, Int64(Date().timeIntervalSince1970 * 1000))
            try db.run("RELEASE command")
            return .accepted(sequence: 0)
        } catch {
            audit.invalidate()
            guard db.isInTransaction else { throw error }
            try db.run("ROLLBACK TO command")
            try db.run("RELEASE command")
            return .failed(GenealogyStoreError(.eventFailed, "the store command failed", underlying: error))
        }
    }
}
