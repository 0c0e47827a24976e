import SQLite

extension GenealogyStore {
    /// Calls `body` for every stored event of the given kinds that names a work order, in commit
    /// order, but those a correction voided or replaced (a full scan of `events`: for reports such
    /// as the mass balance, not for requests).
    public func forEachOrderEvent(kinds: [String], _ body: (StoredEvent, String) -> Void) throws {
        try storeQuery { db throws(SQLiteError) in
            let list = kinds.map { "'\($0.replacingOccurrences(of: "'", with: "''"))'" }.joined(separator: ", ")
            try db.prepare(
                """
                SELECT sequence, event_id, kind, client, recorded_at_ms, raw, work_order FROM events
                WHERE kind IN (\(list)) AND work_order != ''
                  AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.sequence = events.sequence)
                ORDER BY sequence
                """
            ).query { row in
                body(
                    StoredEvent(
                        sequence: row.int64(at: 0), eventID: row.string(at: 1), kind: row.string(at: 2),
                        client: row.string(at: 3), recordedAtMs: row.int64(at: 4), raw: row.blob(at: 5)),
                    row.string(at: 6))
            }
        }
    }
}
