public import MESDomain
import SQLite
import Synchronization

/// What acknowledging or closing an exception came to (`GenealogyStore.acknowledgeException`).
public enum ExceptionCommandOutcome: Sendable, Hashable {
    /// Done: the exception as it stands now (audited in the same transaction).
    case changed(PlantException)
    case notFound
    /// Not allowed in its state (acknowledging one that is not open, closing a closed one).
    case refused(String)
    /// Not done (store closed, queue full, or the transaction failed).
    case failed(GenealogyStoreError)
}

extension GenealogyStore {
    /// Tells `listener` of every exception raised or changed, once committed, in commit order.
    /// Runs where acks are completed, once the change is durable: hand the changes on, never block
    /// (see `ExceptionFeed`).
    public func watchExceptions(_ listener: @escaping @Sendable ([PlantException]) -> Void) {
        exceptionFeed.watch(listener)
    }

    /// Exceptions newest first, at most `limit`: those not closed, or all with `includeClosed`.
    public func exceptionList(includeClosed: Bool = false, limit: Int) throws -> [PlantException] {
        try storeQuery { db throws(SQLiteError) in
            var found: [PlantException] = []
            let sql =
                includeClosed
                ? "SELECT \(ExceptionBook.columns) \(ExceptionBook.from) ORDER BY x.id DESC LIMIT ?1"
                : """
                SELECT \(ExceptionBook.columns)
                FROM exceptions x INDEXED BY exceptions_unclosed LEFT JOIN events e ON e.sequence = x.sequence
                WHERE x.state != 'closed' ORDER BY x.id DESC LIMIT ?1
                """
            try db.cachedStatement(sql).query([.int(limit)]) { found.append(ExceptionBook.read($0)) }
            return found
        }
    }

    /// The exception `id`, or nil.
    public func exception(id: Int64) throws -> PlantException? {
        try storeQuery { db throws(SQLiteError) in try ExceptionBook.exception(id, db) }
    }

    /// A person acknowledges exception `id` (on the writer thread, audited under `by`); `completion`
    /// runs once, on the writer thread or at once.
    public func acknowledgeException(
        _ id: Int64, by: String, reason: String, completion: @escaping @Sendable (ExceptionCommandOutcome) -> Void
    ) {
        exceptionCommand(completion) { book throws(SQLiteError) in try book.acknowledge(id, by: by, reason: reason) }
    }

    /// A person closes exception `id` (on the writer thread, audited under `by`); `completion` runs
    /// once, on the writer thread or at once.
    public func closeException(
        _ id: Int64, by: String, reason: String, completion: @escaping @Sendable (ExceptionCommandOutcome) -> Void
    ) {
        exceptionCommand(completion) { book throws(SQLiteError) in try book.close(id, by: by, reason: reason) }
    }

    /// `acknowledgeException`, awaiting the outcome (the CLI and tests).
    public func acknowledgeException(_ id: Int64, by: String, reason: String) async -> ExceptionCommandOutcome {
        await withCheckedContinuation { done in
            acknowledgeException(id, by: by, reason: reason) { done.resume(returning: $0) }
        }
    }

    /// `closeException`, awaiting the outcome (the CLI and tests).
    public func closeException(_ id: Int64, by: String, reason: String) async -> ExceptionCommandOutcome {
        await withCheckedContinuation { done in
            closeException(id, by: by, reason: reason) { done.resume(returning: $0) }
        }
    }

    private func exceptionCommand(
        _ completion: @escaping @Sendable (ExceptionCommandOutcome) -> Void,
        _ body: @escaping @Sendable (ExceptionBook) throws(SQLiteError) -> ExceptionBook.Change
    ) {
        submitCommand(failed: { .failed($0) }, completion: completion) { db, nowMs throws(SQLiteError) in
            switch try body(ExceptionBook(db: db, nowMs: nowMs)) {
            case .changed(let x): .changed(x)
            case .notFound: .notFound
            case .refused(let reason): .refused(reason)
            }
        }
    }
}
