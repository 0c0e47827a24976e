import MESDomain
import SQLite

/// Raises, acknowledges and closes exceptions (genealogy/MODEL.md, "Exceptions"): the row, its
/// counts (triggers), its Odoo activity row in the outbox (immediate kinds naming a work order),
/// the audit entry of a close or acknowledgement, and the change for the `mes.v1.Exceptions`
/// stream (`ExceptionFeed`, told after COMMIT).
///
/// Writer thread only, inside the batch's transaction: the event's (validation rules raise from
/// `EventRecorder`) or a writer command's (`GenealogyStore.acknowledgeException`, corrections).
struct ExceptionBook {
    let db: SQLiteConnection
    /// The batch's wall clock, Unix ms.
    let nowMs: Int64

    /// What acknowledging or closing one exception came to.
    enum Change {
        case changed(PlantException)
        case notFound
        /// Not allowed in its state (acknowledging a closed one, closing twice): the reason.
        case refused(String)
    }

    /// Who closes an exception when no person does (a downtime's end).
    static let automatic = "mesgate"

    /// Records an open exception of `kind` and returns its id. `sequence`: the event that raised
    /// it, if one did; `node`: the genealogy node concerned; `workOrder`, `workCenter`, `lot`: what a
    /// supervisor reads; `matchKey`: what an automatic close looks for (`closeOpen(kind:matchKey:)`).
    /// `postsToOdoo`: false where nothing goes to Odoo (at the hub); an immediate kind naming a
    /// work order otherwise gets its `mail.activity` row in the outbox.
    @discardableResult
    func raise(
        _ kind: ExceptionKind, sequence: Int64?, node: Int64? = nil, workOrder: String = "", workCenter: String = "",
        lot: LotRef? = nil, detail: String, matchKey: String = "", postsToOdoo: Bool = true
    ) throws(SQLiteError) -> Int64 {
        // An empty work order or work center is the raising event's, if it names one.
        try db.cachedStatement(
            """
            INSERT INTO exceptions (kind, sequence, node_id, detail, created_at_ms, work_order, work_center, lot,
              latency_class, match_key)
            VALUES (?1, ?2, ?3, ?4, ?5,
              coalesce(nullif(?6, ''), (SELECT work_order FROM events WHERE sequence = ?2), ''),
              coalesce(nullif(?7, ''), (SELECT work_center FROM events WHERE sequence = ?2), ''), ?8, ?9, ?10)
            """
        ).run([
            .text(kind.rawValue), sequence.map { .integer($0) } ?? .null, node.map { .integer($0) } ?? .null,
            .text(detail), .integer(nowMs), .text(workOrder), .text(workCenter), .text(lot.map { "\($0)" } ?? ""),
            .text(kind.latency.rawValue), .text(matchKey),
        ])
        let id = db.lastInsertRowID
        let order = try db.cachedStatement("SELECT work_order FROM exceptions WHERE id = ?1").first([.integer(id)]) {
            $0.string(at: 0)
        }
        if postsToOdoo, kind.destinations.contains(.odooActivity), let order, !order.isEmpty {
            try outbox(id, kind: "exception")
        }
        try told(id)
        return id
    }

    /// A person saw it and takes care of it. Refused when it is not open.
    func acknowledge(_ id: Int64, by: String, reason: String) throws(SQLiteError) -> Change {
        guard let found = try Self.exception(id, db) else { return .notFound }
        guard found.state == .open else { return .refused("exception \(id) is \(found.state.rawValue) already") }
        try db.cachedStatement(
            """
            UPDATE exceptions SET state = 'acknowledged', acknowledged_at_ms = ?2, acknowledged_by = ?3,
              acknowledge_reason = ?4
            WHERE id = ?1
            """
        ).run([.integer(id), .integer(nowMs), .text(by), .text(reason)])
        try AuditChain.on(db)?.recordChanged(
            .exceptionAcknowledged(id: id), atMs: nowMs, actor: by, action: AuditAction.exceptionAcknowledged,
            label: found.kind, reason: reason, detail: found.workOrder.isEmpty ? "" : "work order \(found.workOrder)",
            on: db)
        return .changed(try told(id))
    }

    /// Closes it (open or acknowledged), by a person or automatically. Refused when closed already.
    func close(_ id: Int64, by: String, reason: String) throws(SQLiteError) -> Change {
        guard let found = try Self.exception(id, db) else { return .notFound }
        guard found.state != .closed else { return .refused("exception \(id) is closed already") }
        try db.cachedStatement(
            "UPDATE exceptions SET state = 'closed', closed_at_ms = ?2, closed_by = ?3, close_reason = ?4 WHERE id = ?1"
        ).run([.integer(id), .integer(nowMs), .text(by), .text(reason)])
        // Its Odoo activity, if it has one, is marked done by a row of its own.
        if try db.cachedStatement("SELECT 1 FROM outbox WHERE exception_id = ?1 AND kind = 'exception'")
            .first([.integer(id)], { _ in true }) == true
        {
            try outbox(id, kind: "exception_closed")
        }
        try AuditChain.on(db)?.recordChanged(
            .exceptionClosed(id: id), atMs: nowMs, actor: by, action: AuditAction.exceptionClosed, label: found.kind,
            reason: reason, detail: found.workOrder.isEmpty ? "" : "work order \(found.workOrder)", on: db)
        return .changed(try told(id))
    }

    /// Closes every exception of `kind` not closed yet whose match key is `matchKey` (what ended
    /// it arrived: a downtime's end); returns their ids.
    @discardableResult
    func closeOpen(_ kind: ExceptionKind, matchKey: String, by: String = automatic, reason: String)
        throws(SQLiteError) -> [Int64]
    {
        try closeAll(
            "SELECT id FROM exceptions WHERE kind = ?1 AND match_key = ?2 AND state != 'closed' ORDER BY id",
            [.text(kind.rawValue), .text(matchKey)], by: by, reason: reason)
    }

    /// Whether an exception of `kind` with `matchKey` is not closed (a second report of the same stop).
    func isOpen(_ kind: ExceptionKind, matchKey: String) throws(SQLiteError) -> Bool {
        try db.cachedStatement(
            "SELECT 1 FROM exceptions WHERE kind = ?1 AND match_key = ?2 AND state != 'closed' LIMIT 1"
        ).first([.text(kind.rawValue), .text(matchKey)]) { _ in true } ?? false
    }

    /// Closes what the event at `sequence` raised (a correction took the event back).
    @discardableResult
    func closeRaised(bySequence sequence: Int64, by: String, reason: String) throws(SQLiteError) -> [Int64] {
        try closeAll(
            "SELECT id FROM exceptions WHERE sequence = ?1 AND state != 'closed' ORDER BY id", [.integer(sequence)],
            by: by, reason: reason)
    }

    private func closeAll(_ sql: String, _ values: [SQLiteValue], by: String, reason: String) throws(SQLiteError)
        -> [Int64]
    {
        var ids: [Int64] = []
        try db.cachedStatement(sql).query(values) { ids.append($0.int64(at: 0)) }
        for id in ids { _ = try close(id, by: by, reason: reason) }
        return ids
    }

    private func outbox(_ id: Int64, kind: String) throws(SQLiteError) {
        try db.cachedStatement(
            """
            INSERT OR IGNORE INTO outbox (exception_id, kind, document_key, latency_class, next_attempt_at_ms,
              created_at_ms, updated_at_ms)
            VALUES (?1, ?2, ?3, 'immediate', ?4, ?4, ?4)
            """
        ).run([.integer(id), .text(kind), .text("exception:\(id)"), .integer(nowMs)])
        // Counted here when inserted (no trigger counts outbox rows since version 19).
        if db.changes > 0 { try OutboxTally.count(db.changes, on: db) }
    }

    /// Hands the exception as it stands now to the feed (told after COMMIT).
    @discardableResult
    private func told(_ id: Int64) throws(SQLiteError) -> PlantException {
        // The row was written in this transaction: it is there.
        guard let now = try Self.exception(id, db) else { preconditionFailure("exception \(id) just written is gone") }
        ExceptionFeed.on(db)?.record(now)
        return now
    }

    // MARK: Reading

    static let columns = """
        x.id, x.kind, x.state, x.latency_class, coalesce(x.sequence, 0), coalesce(e.event_id, ''), x.work_order,
        x.work_center, x.lot, x.detail, x.created_at_ms, x.acknowledged_at_ms, x.acknowledged_by,
        x.acknowledge_reason, x.closed_at_ms, x.closed_by, x.close_reason
        """
    static let from = "FROM exceptions x LEFT JOIN events e ON e.sequence = x.sequence"

    static func exception(_ id: Int64, _ db: SQLiteConnection) throws(SQLiteError) -> PlantException? {
        try db.cachedStatement("SELECT \(columns) \(from) WHERE x.id = ?1").first([.integer(id)], read)
    }

    /// One row of `columns`.
    static func read(_ row: SQLiteStatement) -> PlantException {
        var x = PlantException(
            id: row.int64(at: 0), kind: row.string(at: 1),
            state: ExceptionState(rawValue: row.string(at: 2)) ?? .open, latency: row.string(at: 3),
            createdAtMs: row.int64(at: 10))
        x.sequence = row.int64(at: 4)
        x.eventID = row.string(at: 5)
        x.workOrder = row.string(at: 6)
        x.workCenter = row.string(at: 7)
        x.lot = row.string(at: 8)
        x.detail = row.string(at: 9)
        x.acknowledgedAtMs = row.isNull(at: 11) ? nil : row.int64(at: 11)
        x.acknowledgedBy = row.string(at: 12)
        x.acknowledgeReason = row.string(at: 13)
        x.closedAtMs = row.isNull(at: 14) ? nil : row.int64(at: 14)
        x.closedBy = row.string(at: 15)
        x.closeReason = row.string(at: 16)
        return x
    }
}
