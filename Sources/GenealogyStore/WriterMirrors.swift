import MESDomain
import SQLite

/// What the write connection carries besides its SQL state: the in-memory mirrors of its
/// transaction (`db.attachment`), and what each of them does when the transaction begins, commits
/// or is rolled back, in one place (`IngestWriter` and `WriterSavepoint` call these).
/// `@unchecked Sendable` for the same reason as its parts: made before the writer thread starts,
/// then used only there.
final class WriterMirrors: @unchecked Sendable {
    let audit: AuditChain
    let exceptions: ExceptionFeed
    let nodes = NodeCache()
    let outboxTally = OutboxTally()

    init(audit: AuditChain, exceptions: ExceptionFeed) {
        self.audit = audit
        self.exceptions = exceptions
    }

    /// The mirrors on `db`; nil on any connection but a store's writer.
    static func on(_ db: SQLiteConnection) -> WriterMirrors? { db.attachment as? WriterMirrors }

    /// After `BEGIN IMMEDIATE`: the audit head is read again, and the node cache emptied, when
    /// another connection committed since (`AuditChain.beginTransaction`).
    func beginTransaction(_ db: SQLiteConnection) throws(SQLiteError) {
        if try audit.beginTransaction(db) { nodes.clear() }
    }

    /// Just before `COMMIT`, inside the transaction: the run of stored events appended to the
    /// audit chain (`AuditChain`), the outbox rows counted (`OutboxTally`).
    func beforeCommit(_ db: SQLiteConnection) throws(SQLiteError) {
        try audit.beforeCommit(db)
        try outboxTally.flush(db)
    }

    /// After the batch's transaction: the exceptions it changed if it committed (a rollback has
    /// discarded them already), to be told when it is durable.
    func committed() -> [PlantException] { exceptions.committed() }

    /// After the whole transaction was rolled back (by the writer, or by SQLite itself): nothing
    /// a mirror took in since `BEGIN` may stay.
    func transactionRolledBack() {
        audit.invalidate()
        exceptions.discard()
        nodes.clear()
        outboxTally.discard()
    }

    /// Where the mirrors stand when a savepoint begins (`WriterSavepoint`).
    struct Mark {
        fileprivate let audit: AuditChain.Mark
        fileprivate let exceptions: Int
        fileprivate let outboxTally: Int
    }

    func mark() -> Mark { Mark(audit: audit.mark(), exceptions: exceptions.mark, outboxTally: outboxTally.mark) }

    /// Before `ROLLBACK TO` the savepoint where `mark` was taken: each mirror back where it was
    /// then; the node cache, which keeps no marks, emptied.
    func rollBack(to mark: Mark) {
        audit.rollBack(to: mark.audit)
        exceptions.rollBack(to: mark.exceptions)
        outboxTally.rollBack(to: mark.outboxTally)
        nodes.clear()
    }
}
