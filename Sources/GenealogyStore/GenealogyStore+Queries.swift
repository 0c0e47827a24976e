import SQLite

/// The reads the CLI and tests need; each runs on the caller's thread (see `read`).
extension GenealogyStore {
    /// The number of stored events.
    public func eventCount() throws -> Int {
        try query { db throws(SQLiteError) in
            try db.cachedStatement("SELECT count(*) FROM events").first { $0.int(at: 0) } ?? 0
        }
    }

    /// The stored event with `id`, or nil.
    public func event(id: String) throws -> StoredEvent? {
        try query { db throws(SQLiteError) in
            try db.cachedStatement(
                "SELECT sequence, event_id, kind, client, recorded_at_ms, raw FROM events WHERE event_id = ?1"
            ).first([.text(id)]) {
                StoredEvent(
                    sequence: $0.int64(at: 0), eventID: $0.string(at: 1), kind: $0.string(at: 2),
                    client: $0.string(at: 3), recordedAtMs: $0.int64(at: 4), raw: $0.blob(at: 5))
            }
        }
    }

    /// The newest `limit` exceptions, newest first.
    public func exceptions(limit: Int) throws -> [StoreException] {
        try query { db throws(SQLiteError) in
            var found: [StoreException] = []
            try db.cachedStatement(
                """
                SELECT x.id, x.kind, x.sequence, e.event_id, x.node_id, x.detail, x.created_at_ms
                FROM exceptions x JOIN events e ON e.sequence = x.sequence
                ORDER BY x.id DESC LIMIT ?1
                """
            ).query([.int(limit)]) {
                found.append(
                    StoreException(
                        id: $0.int64(at: 0), kind: $0.string(at: 1), sequence: $0.int64(at: 2),
                        eventID: $0.string(at: 3),
                        nodeID: $0.isNull(at: 4) ? nil : $0.int64(at: 4), detail: $0.string(at: 5),
                        createdAtMs: $0.int64(at: 6)))
            }
            return found
        }
    }

    /// Exceptions by kind.
    public func exceptionCounts() throws -> [String: Int] {
        try counts("SELECT kind, count(*) FROM exceptions GROUP BY kind")
    }

    /// Outbox rows by state (pending, posted, failed, dead); states with no rows are absent. Counts
    /// the whole table: for /metrics and probes use `statusCounts()`.
    public func outboxCounts() throws -> [String: Int] {
        try counts("SELECT state, count(*) FROM outbox GROUP BY state")
    }

    private func counts(_ sql: String) throws -> [String: Int] {
        try query { db throws(SQLiteError) in
            var counts: [String: Int] = [:]
            try db.cachedStatement(sql).query { counts[$0.string(at: 0)] = $0.int(at: 1) }
            return counts
        }
    }

    /// `read`, with SQLite errors turned into `GenealogyStoreError.queryFailed`.
    private func query<T>(_ body: (SQLiteConnection) throws(SQLiteError) -> T) throws -> T {
        try read { db in
            do throws(SQLiteError) {
                return try body(db)
            } catch {
                throw GenealogyStoreError(.queryFailed, "a store query failed", underlying: error)
            }
        }
    }
}
