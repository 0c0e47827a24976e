import SQLite

/// One outbox row that has not reached Odoo yet (pending, failed or dead), for the status page.
public struct OutboxWaiting: Sendable, Hashable {
    public var id: Int64
    public var kind: String
    public var documentKey: String
    public var state: String
    public var attempts: Int
    public var lastError: String
    public var createdAtMs: Int64
    public var nextAttemptAtMs: Int64

    public init(
        id: Int64, kind: String, documentKey: String, state: String, attempts: Int, lastError: String,
        createdAtMs: Int64, nextAttemptAtMs: Int64
    ) {
        self.id = id
        self.kind = kind
        self.documentKey = documentKey
        self.state = state
        self.attempts = attempts
        self.lastError = lastError
        self.createdAtMs = createdAtMs
        self.nextAttemptAtMs = nextAttemptAtMs
    }
}

/// Reads for the admin listener's status page; each runs on the caller's thread.
extension GenealogyStore {
    /// Outbox rows not posted yet, dead ones first, then failed, then pending; oldest first.
    public func outboxWaiting(limit: Int) throws -> [OutboxWaiting] {
        try read { db in
            var rows: [OutboxWaiting] = []
            do throws(SQLiteError) {
                try db.cachedStatement(
                    """
                    SELECT id, kind, document_key, state, attempts, last_error, created_at_ms, next_attempt_at_ms
                    FROM outbox WHERE state IN ('pending', 'failed', 'dead')
                    ORDER BY CASE state WHEN 'dead' THEN 0 WHEN 'failed' THEN 1 ELSE 2 END, id LIMIT ?1
                    """
                ).query([.int(limit)]) {
                    rows.append(
                        OutboxWaiting(
                            id: $0.int64(at: 0), kind: $0.string(at: 1), documentKey: $0.string(at: 2),
                            state: $0.string(at: 3), attempts: $0.int(at: 4), lastError: $0.string(at: 5),
                            createdAtMs: $0.int64(at: 6), nextAttemptAtMs: $0.int64(at: 7)))
                }
            } catch {
                throw GenealogyStoreError(.queryFailed, "a store query failed", underlying: error)
            }
            return rows
        }
    }
}
