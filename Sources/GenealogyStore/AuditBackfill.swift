import SQLite

/// Gives a store that had records before the audit trail existed (schema 3 or older) their
/// entries, in the migration's transaction: every stored event in sequence order, then every hold
/// and release, then every outbox command of `outbox_audit`. Each entry keeps the record's own
/// time and actor; its detail says it was backfilled. What happened before the trail that left no
/// row (an authentication failure, a token reload) cannot be backfilled.
struct AuditBackfill {
    /// The migration that creates `audit_log`.
    static let migrationVersion = 4
    static let note = "backfilled by migration 4"

    let db: SQLiteConnection

    /// Returns the number of entries written.
    @discardableResult
    func run() throws(SQLiteError) -> Int {
        let chain = try AuditChain(db: db)
        var written = 0
        // A statement of its own (not the cache): it stays open while the chain inserts.
        let events = try db.prepare("SELECT \(AuditRecord.eventColumns) FROM events ORDER BY sequence")
        try events.query { row throws(SQLiteError) in
            let values = (0..<row.columnCount).map { row.value(at: $0) }
            let sequence = row.int64(at: 0)
            let record = AuditRecord.event(sequence: sequence)
            try chain.append(
                AuditDraft(
                    atMs: row.int64(at: 10), actor: row.string(at: 9), action: AuditAction.eventStored,
                    subject: "event:\(sequence) \(row.string(at: 1))", detail: "\(row.string(at: 2)); \(Self.note)",
                    recordDigest: AuditHash.record(tag: record.tag, values)),
                on: db)
            written += 1
        }
        var holds:
            [(
                id: Int64, placedAt: Int64, by: String, reason: String, releasedAt: Int64?, releasedBy: String,
                why: String
            )] = []
        try db.prepare(
            "SELECT id, placed_at_ms, placed_by, reason, released_at_ms, released_by, release_reason FROM holds ORDER BY id"
        ).query {
            holds.append(
                (
                    $0.int64(at: 0), $0.int64(at: 1), $0.string(at: 2), $0.string(at: 3),
                    $0.isNull(at: 4) ? nil : $0.int64(at: 4), $0.string(at: 5), $0.string(at: 6)
                ))
        }
        for h in holds {
            try chain.recordChanged(
                .holdPlaced(hold: h.id), atMs: h.placedAt, actor: h.by, action: AuditAction.holdPlaced, label: "",
                reason: h.reason, detail: Self.note, on: db)
            written += 1
            guard let releasedAt = h.releasedAt else { continue }
            try chain.recordChanged(
                .holdReleased(hold: h.id), atMs: releasedAt, actor: h.releasedBy, action: AuditAction.holdReleased,
                label: "", reason: h.why, detail: Self.note, on: db)
            written += 1
        }
        var commands: [(id: Int64, action: String, atMs: Int64, actor: String, reason: String)] = []
        try db.prepare("SELECT id, action, at_ms, actor, reason FROM outbox_audit ORDER BY id").query {
            commands.append(($0.int64(at: 0), $0.string(at: 1), $0.int64(at: 2), $0.string(at: 3), $0.string(at: 4)))
        }
        for c in commands {
            try chain.recordChanged(
                .outboxCommand(id: c.id), atMs: c.atMs, actor: c.actor, action: AuditAction.outbox(c.action),
                label: "", reason: c.reason, detail: Self.note, on: db)
            written += 1
        }
        return written
    }
}
