import SQLite

/// A unit of work on the write connection: an SQL savepoint together with the in-memory mirrors
/// of what is written under it (`WriterMirrors`: the audit chain's head, the exceptions to tell,
/// the outbox tally, the node cache) and the hold cache (`HeldNodes`). Rolling the savepoint back,
/// because its body threw or because the body asked to (a refusal that returns normally), puts
/// each mirror back where it was (or empties it) and marks the hold cache stale, so no mirror can
/// name a row the rollback removed. Every `ROLLBACK TO` on the writer goes
/// through here.
///
/// Writer thread only, inside the batch's transaction.
struct WriterSavepoint {
    /// How the body ends its savepoint.
    enum End<Value> {
        /// Keep what it wrote (`RELEASE`).
        case release(Value)
        /// Undo what it wrote (`ROLLBACK TO`), then answer `Value`.
        case rollBack(Value)
    }

    /// Runs `body` inside savepoint `name` on `db`. When `body` throws, the savepoint is rolled
    /// back (if SQLite has not ended the whole transaction already: check `db.isInTransaction`)
    /// and the error is rethrown; the mirrors are restored either way.
    static func run<Value>(
        _ name: String, on db: SQLiteConnection, held: HeldNodes?,
        _ body: () throws(SQLiteError) -> End<Value>
    ) throws(SQLiteError) -> Value {
        let mirrors = WriterMirrors.on(db)
        let mark = mirrors?.mark()
        try db.run("SAVEPOINT \(name)")
        let end: End<Value>
        do throws(SQLiteError) {
            end = try body()
        } catch {
            if db.isInTransaction {
                try rollBack(name, on: db, mirrors: mirrors, to: mark, held: held)
            } else {
                // SQLite rolled the whole transaction back (I/O error, RAISE(ROLLBACK)): the head
                // is read again before the next append.
                mirrors?.transactionRolledBack()
                held?.markStale()
            }
            throw error
        }
        switch end {
        case .release(let value):
            try db.run("RELEASE \(name)")
            return value
        case .rollBack(let value):
            try rollBack(name, on: db, mirrors: mirrors, to: mark, held: held)
            return value
        }
    }

    private static func rollBack(
        _ name: String, on db: SQLiteConnection, mirrors: WriterMirrors?, to mark: WriterMirrors.Mark?,
        held: HeldNodes?
    ) throws(SQLiteError) {
        // The mirrors first: should ROLLBACK TO itself fail, the transaction is rolled back whole
        // by the caller, which reads the head again anyway.
        if let mark { mirrors?.rollBack(to: mark) }
        held?.markStale()
        try db.run("ROLLBACK TO \(name)")
        try db.run("RELEASE \(name)")
    }
}
