import SQLite

/// The outbox rows of stored events the writer inserted in the current transaction. They are
/// added to `status_counts` once, just before COMMIT (`flush`), instead of by a trigger per row
/// (migration 15): one write per transaction instead of one per event. A rolled-back savepoint
/// takes back what it counted, a rolled-back transaction all of it (`WriterMirrors`).
///
/// Writer thread only (reached through `WriterMirrors`, made before the thread starts). On a
/// connection without one, `GenealogyRows.outbox` counts each row as it inserts it.
final class OutboxTally {
    /// Rows inserted in `pending` state since the last flush.
    private(set) var pending = 0

    /// One more row inserted. The first of a transaction (or after a rolled-back savepoint took
    /// the tally back to zero) makes sure the count's row exists: the triggers that subtract when a
    /// row changes state or is deleted (migration 8) only update an existing row, and a row counted
    /// here may be deleted or moved on before COMMIT (an EPCIS import deletes the outbox rows of
    /// the supplier's events it records) in a store that never had a pending row.
    func added(on db: SQLiteConnection) throws(SQLiteError) {
        if pending == 0 {
            try db.cachedStatement("INSERT OR IGNORE INTO status_counts (name, key, n) VALUES ('outbox', 'pending', 0)")
                .run()
        }
        pending += 1
    }

    /// What a savepoint restores on rollback.
    var mark: Int { pending }

    func rollBack(to mark: Int) { pending = mark }

    /// After a rolled-back transaction.
    func discard() { pending = 0 }

    /// Before COMMIT: adds the rows to the count, in the same transaction, and starts again.
    func flush(_ db: SQLiteConnection) throws(SQLiteError) {
        guard pending > 0 else { return }
        try Self.count(pending, on: db)
        pending = 0
    }

    /// Adds `n` pending outbox rows to `status_counts`.
    static func count(_ n: Int, on db: SQLiteConnection) throws(SQLiteError) {
        try db.cachedStatement(
            """
            INSERT INTO status_counts (name, key, n) VALUES ('outbox', 'pending', ?1)
            ON CONFLICT (name, key) DO UPDATE SET n = n + excluded.n
            """
        ).run([.integer(Int64(n))])
    }
}
