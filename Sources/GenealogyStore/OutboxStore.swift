import Foundation
public import MESDomain
import SQLite

/// The outbox's own connection: what the Odoo poster and `mesgate outbox` read and change.
///
/// It has a write connection of its own beside the ingest writer's (WAL allows one writer at a
/// time; each change here is one short `BEGIN IMMEDIATE` transaction and waits up to the busy
/// timeout for the ingest writer). Not `Sendable`: confined to the thread that opened it (the
/// poster's thread, or a CLI command). The connection closes in `deinit`.
public final class OutboxStore {
    private let db: SQLiteConnection
    /// Synced before due rows are posted (see `due`).
    private let wal: WALFile

    /// Opens the outbox of the store at `path` (`GenealogyStore.path`), which must be migrated;
    /// `readOnly` for the commands that only look (`outbox list`, `show`, `reconcile`).
    public init(path: String, readOnly: Bool = false) throws(GenealogyStoreError) {
        wal = WALFile(databasePath: path)
        do throws(SQLiteError) {
            if readOnly {
                db = try SQLiteConnection(path: path, mode: .readOnly, busyTimeoutMs: 10_000)
                return
            }
            db = try .sideWriter(at: path)
            try db.execute("PRAGMA foreign_keys = ON")
            // A state change lost to a power cut only makes the poster post again, which changes
            // nothing in Odoo (postings are idempotent): no fsync per change.
            try db.execute("PRAGMA synchronous = NORMAL")
        } catch {
            throw GenealogyStoreError(.openFailed, "cannot open the outbox of \(path)", underlying: error)
        }
    }

    static let columns = """
        o.id, coalesce(o.sequence, 0),
        coalesce(e.event_id, 'hold:' || o.hold_id, 'exception:' || o.exception_id), o.kind, o.document_key,
        o.latency_class, o.state, o.attempts, o.next_attempt_at_ms, o.last_error, o.odoo_answer, o.skipped_reason,
        o.created_at_ms, o.updated_at_ms, coalesce(e.raw, x''), coalesce(o.hold_id, 0), o.resolved_note,
        coalesce(o.exception_id, 0)
        """

    /// Pending and failed rows whose time has come, oldest first.
    ///
    /// The rows are durable when this returns: the writer acks a commit only once the log is synced
    /// (`CommitSyncer`), but others see it before, and Odoo is not to hear of an event a power cut
    /// could still take back.
    public func due(nowMs: Int64, limit: Int) throws(GenealogyStoreError) -> [OutboxEntry] {
        let due = try entries(
            "WHERE o.state IN ('pending', 'failed') AND o.next_attempt_at_ms <= ?1 ORDER BY o.id LIMIT ?2",
            [.integer(nowMs), .int(limit)])
        if !due.isEmpty { try wal.syncBeforeTelling() }
        return due
    }

    /// Makes everything this connection read so far durable (a sync of the log), for what Odoo is
    /// told of besides the due rows: a hold, an exception, an order's totals. See `due`.
    public func makeReadsDurable() throws(GenealogyStoreError) {
        try wal.syncBeforeTelling()
    }

    /// Rows in `states` (all when empty), oldest first, at most `limit`.
    public func list(states: [String], limit: Int) throws(GenealogyStoreError) -> [OutboxEntry] {
        if states.isEmpty { return try entries("ORDER BY o.id LIMIT ?1", [.int(limit)]) }
        let marks = states.indices.map { "?\($0 + 2)" }.joined(separator: ", ")
        return try entries(
            "WHERE o.state IN (\(marks)) ORDER BY o.id LIMIT ?1", [.int(limit)] + states.map { .text($0) })
    }

    /// The row `id`, or nil.
    public func entry(id: Int64) throws(GenealogyStoreError) -> OutboxEntry? {
        try entries("WHERE o.id = ?1", [.integer(id)]).first
    }

    /// Rows by state.
    public func counts() throws(GenealogyStoreError) -> [String: Int] {
        try guarded { () throws(SQLiteError) in
            var counts: [String: Int] = [:]
            try db.cachedStatement("SELECT state, count(*) FROM outbox GROUP BY state").query {
                counts[$0.string(at: 0)] = $0.int(at: 1)
            }
            return counts
        }
    }

    /// Every stored event naming the production order `name` that is for Odoo, in commit order:
    /// what the order's totals are made of. An event whose outbox row was skipped (`mesgate outbox
    /// skip`) is left out: nothing of it is to reach Odoo, also not through a later posting of
    /// the order's totals; so is an event a correction voided or replaced (a replacement is an
    /// event of its own).
    public func events(ofOrder name: String) throws(GenealogyStoreError) -> [RawEvent] {
        try orderEvents(name, .counted)
    }

    /// The stored events naming the production order `name` whose outbox row was skipped, in
    /// commit order: what the plant reported and Odoo is not to get (`reconcile` names them).
    public func skippedEvents(ofOrder name: String) throws(GenealogyStoreError) -> [RawEvent] {
        try orderEvents(name, .skipped)
    }

    /// The stored events naming the production order `name` that a correction voided or replaced,
    /// in commit order.
    public func correctedEvents(ofOrder name: String) throws(GenealogyStoreError) -> [RawEvent] {
        try orderEvents(name, .corrected)
    }

    private enum OrderEvents: Int { case counted = 0, skipped, corrected }

    private func orderEvents(_ name: String, _ which: OrderEvents) throws(GenealogyStoreError) -> [RawEvent] {
        try guarded { () throws(SQLiteError) in
            var found: [RawEvent] = []
            // One probe of each unique sequence index (corrections, outbox) per event.
            try db.cachedStatement(
                """
                SELECT e.sequence, e.kind, e.raw FROM nodes n
                JOIN event_nodes en ON en.node_id = n.id AND en.role = 'order'
                JOIN events e ON e.sequence = en.sequence
                WHERE n.kind = 'order' AND n.name = ?1
                  AND CASE
                    WHEN EXISTS (SELECT 1 FROM corrections c WHERE c.sequence = e.sequence) THEN 2
                    WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.sequence = e.sequence AND o.state = 'skipped') THEN 1
                    ELSE 0 END = ?2
                ORDER BY e.sequence
                """
            ).query([.text(name), .int(which.rawValue)]) {
                found.append(RawEvent(sequence: $0.int64(at: 0), kind: $0.string(at: 1), raw: $0.blob(at: 2)))
            }
            return found
        }
    }

    /// Names of every production order the plant reported on.
    public func orderNames() throws(GenealogyStoreError) -> [String] {
        try guarded { () throws(SQLiteError) in
            var names: [String] = []
            try db.cachedStatement("SELECT name FROM nodes WHERE kind = 'order' ORDER BY name").query {
                names.append($0.string(at: 0))
            }
            return names
        }
    }

    /// The exception `id` as it stands now (what the poster tells Odoo of it), or nil.
    public func exception(id: Int64) throws(GenealogyStoreError) -> PlantException? {
        try guarded { () throws(SQLiteError) in try ExceptionBook.exception(id, db) }
    }

    /// The hold `id` as the poster tells Odoo of it, or nil when there is none.
    public func hold(id: Int64) throws(GenealogyStoreError) -> HoldPosting? {
        try guarded { () throws(SQLiteError) in
            guard
                var hold = try db.cachedStatement(
                    """
                    SELECT id, reason, placed_by, placed_at_ms, released_at_ms, released_by, release_reason
                    FROM holds WHERE id = ?1
                    """
                ).first(
                    [.integer(id)],
                    { row in
                        HoldPosting(
                            id: row.int64(at: 0), reason: row.string(at: 1), placedBy: row.string(at: 2),
                            placedAtMs: row.int64(at: 3), releasedAtMs: row.isNull(at: 4) ? nil : row.int64(at: 4),
                            releasedBy: row.string(at: 5), releaseReason: row.string(at: 6), items: [])
                    })
            else { return nil }
            try db.cachedStatement(
                """
                SELECT n.product, CASE n.kind WHEN 'serial' THEN n.serial ELSE n.lot END
                FROM hold_items i JOIN nodes n ON n.id = i.node_id JOIN holds h ON h.id = i.hold_id
                WHERE i.hold_id = ?1 AND n.kind IN ('lot', 'serial')
                ORDER BY n.id != h.node_id, n.id
                """
            ).query([.integer(id)]) { hold.items.append(HeldLot(product: $0.string(at: 0), name: $0.string(at: 1))) }
            return hold
        }
    }

    /// Dead rows of the Odoo document `documentKey` of the given kinds, oldest first.
    public func dead(documentKey: String, kinds: Set<String>) throws(GenealogyStoreError) -> [OutboxEntry] {
        let marks = kinds.sorted().indices.map { "?\($0 + 2)" }.joined(separator: ", ")
        return try entries(
            "WHERE o.state = 'dead' AND o.document_key = ?1 AND o.kind IN (\(marks)) ORDER BY o.id",
            [.text(documentKey)] + kinds.sorted().map { .text($0) })
    }

    // MARK: The poster's changes

    /// Marks dead rows resolved: a later posting (`note` says which) brought Odoo to what they
    /// asked for, so they are no longer dead. Rows no longer dead (retried or skipped meanwhile)
    /// are left as they are.
    public func markResolved(_ ids: [Int64], note: String, nowMs: Int64) throws(GenealogyStoreError) {
        try update(
            ids, "state = 'resolved', resolved_note = ?2, posted_at_ms = ?3, updated_at_ms = ?3",
            [.text(note), .integer(nowMs)], only: .dead)
    }

    /// Marks rows posted with Odoo's answer.
    public func markPosted(_ ids: [Int64], answer: String, nowMs: Int64) throws(GenealogyStoreError) {
        try update(
            ids,
            "state = 'posted', odoo_answer = ?2, last_error = '', posted_at_ms = ?3, updated_at_ms = ?3",
            [.text(answer), .integer(nowMs)])
    }

    /// Counts a failed attempt; the rows come due again at `nextAttemptAtMs`.
    public func markFailed(_ ids: [Int64], error: String, nextAttemptAtMs: Int64, nowMs: Int64)
        throws(GenealogyStoreError)
    {
        try update(
            ids,
            "state = 'failed', attempts = attempts + 1, last_error = ?2, odoo_answer = ?2, next_attempt_at_ms = ?3, updated_at_ms = ?4",
            [.text(error), .integer(nextAttemptAtMs), .integer(nowMs)], only: .due)
    }

    /// Dead-letters rows with Odoo's reason.
    public func markDead(_ ids: [Int64], error: String, nowMs: Int64) throws(GenealogyStoreError) {
        try update(
            ids, "state = 'dead', attempts = attempts + 1, last_error = ?2, odoo_answer = ?2, updated_at_ms = ?3",
            [.text(error), .integer(nowMs)], only: .due)
    }

    // MARK: People's commands (audited)

    /// Makes failed or dead rows (all of them when `id` is nil) due now; the row `id` also when it
    /// was skipped (it is then no longer skipped, and counts in its order's totals again). Returns
    /// the rows changed.
    public func retry(id: Int64?, actor: String, nowMs: Int64) throws(GenealogyStoreError) -> Int {
        try transaction { () throws(SQLiteError) in
            let filter =
                id == nil ? "state IN ('failed', 'dead')" : "id = ?2 AND state IN ('failed', 'dead', 'skipped')"
            try db.run(
                """
                UPDATE outbox SET state = 'pending', skipped_reason = '', next_attempt_at_ms = ?1, updated_at_ms = ?1
                WHERE \(filter)
                """,
                id.map { [.integer(nowMs), .integer($0)] } ?? [.integer(nowMs)])
            let rows = db.changes
            try audit("retry", outboxID: id, first: nil, last: nil, rows: rows, reason: "", actor: actor, nowMs: nowMs)
            return rows
        }
    }

    /// Posts every row of the events `first...last` again (posted ones too: postings are idempotent;
    /// skipped ones too: a replay undoes a skip).
    public func replay(first: Int64, last: Int64, actor: String, reason: String, nowMs: Int64)
        throws(GenealogyStoreError) -> Int
    {
        try transaction { () throws(SQLiteError) in
            try db.run(
                """
                UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at_ms = ?3, skipped_reason = '',
                updated_at_ms = ?3 WHERE sequence BETWEEN ?1 AND ?2
                """, [.integer(first), .integer(last), .integer(nowMs)])
            let rows = db.changes
            try audit(
                "replay", outboxID: nil, first: first, last: last, rows: rows, reason: reason, actor: actor,
                nowMs: nowMs)
            return rows
        }
    }

    /// Gives up on a pending, failed or dead row without telling Odoo: it becomes `skipped` with
    /// the reason, is never posted, and its event no longer counts in its order's totals. Returns
    /// the rows changed (0: no such row, or it was posted, resolved or skipped already).
    public func skip(id: Int64, reason: String, actor: String, nowMs: Int64) throws(GenealogyStoreError) -> Int {
        try transaction { () throws(SQLiteError) in
            try db.run(
                """
                UPDATE outbox SET state = 'skipped', skipped_reason = ?2, updated_at_ms = ?3
                WHERE id = ?1 AND state IN ('pending', 'failed', 'dead')
                """, [.integer(id), .text(reason), .integer(nowMs)])
            let rows = db.changes
            try audit(
                "skip", outboxID: id, first: nil, last: nil, rows: rows, reason: reason, actor: actor, nowMs: nowMs)
            return rows
        }
    }

    // MARK: Helpers

    private func audit(
        _ action: String, outboxID: Int64?, first: Int64?, last: Int64?, rows: Int, reason: String, actor: String,
        nowMs: Int64
    ) throws(SQLiteError) {
        try db.run(
            """
            INSERT INTO outbox_audit (action, outbox_id, first_sequence, last_sequence, rows, reason, actor, at_ms)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
            """,
            [
                .text(action), outboxID.map { .integer($0) } ?? .null, first.map { .integer($0) } ?? .null,
                last.map { .integer($0) } ?? .null, .int(rows), .text(reason), .text(actor), .integer(nowMs),
            ])
        // The hash-chained trail too, in the same transaction (this connection keeps no head).
        let label =
            if let first, let last { "sequences \(first)-\(last)" } else if let outboxID { "outbox \(outboxID)" } else {
                "every failed and dead row"
            }
        let draft = try AuditChain.draft(
            .outboxCommand(id: db.lastInsertRowID), atMs: nowMs, actor: actor, action: AuditAction.outbox(action),
            label: label, reason: reason, detail: "\(rows) row(s)", db)
        try AuditChain.appendReadingHead(draft, on: db)
    }

    /// Which rows a poster's change may touch. With `.due`, rows a person skipped (or otherwise
    /// settled) while the poster had them in flight are left as they are: a failed attempt must not
    /// undo `mesgate outbox skip`. With `.dead`, only rows still dead.
    private enum StillIn: String {
        case any = ""
        case due = " AND state IN ('pending', 'failed')"
        case dead = " AND state = 'dead'"
    }

    private func update(_ ids: [Int64], _ set: String, _ values: [SQLiteValue], only: StillIn = .any)
        throws(GenealogyStoreError)
    {
        guard !ids.isEmpty else { return }
        let due = only.rawValue
        try transaction { () throws(SQLiteError) in
            let statement = try db.cachedStatement("UPDATE outbox SET \(set) WHERE id = ?1\(due)")
            for id in ids { try statement.run([.integer(id)] + values) }
        }
    }

    private func entries(_ tail: String, _ values: [SQLiteValue]) throws(GenealogyStoreError) -> [OutboxEntry] {
        try guarded { () throws(SQLiteError) in
            var found: [OutboxEntry] = []
            try db.cachedStatement(
                "SELECT \(Self.columns) FROM outbox o LEFT JOIN events e ON e.sequence = o.sequence \(tail)"
            )
            .query(values) {
                found.append(
                    OutboxEntry(
                        id: $0.int64(at: 0), sequence: $0.int64(at: 1), eventID: $0.string(at: 2),
                        kind: $0.string(at: 3), documentKey: $0.string(at: 4), latencyClass: $0.string(at: 5),
                        state: $0.string(at: 6), attempts: $0.int(at: 7), nextAttemptAtMs: $0.int64(at: 8),
                        lastError: $0.string(at: 9), odooAnswer: $0.string(at: 10), skippedReason: $0.string(at: 11),
                        createdAtMs: $0.int64(at: 12), updatedAtMs: $0.int64(at: 13), raw: $0.blob(at: 14),
                        holdID: $0.int64(at: 15), resolvedNote: $0.string(at: 16), exceptionID: $0.int64(at: 17)))
            }
            return found
        }
    }

    private func transaction<T>(_ body: () throws(SQLiteError) -> T) throws(GenealogyStoreError) -> T {
        try guarded { () throws(SQLiteError) in
            try db.run("BEGIN IMMEDIATE")
            do throws(SQLiteError) {
                let result = try body()
                try db.run("COMMIT")
                return result
            } catch {
                if db.isInTransaction { try? db.run("ROLLBACK") }
                throw error
            }
        }
    }

    private func guarded<T>(_ body: () throws(SQLiteError) -> T) throws(GenealogyStoreError) -> T {
        do throws(SQLiteError) {
            return try body()
        } catch {
            throw GenealogyStoreError(.queryFailed, "an outbox query failed", underlying: error)
        }
    }
}
