import Foundation
import SQLite

/// One entry to append: who, what, when, why, and the record it describes (if any).
struct AuditDraft {
    var atMs: Int64
    var actor: String
    var action: String
    var subject: String
    var reason: String = ""
    var detail: String = ""
    var recordDigest: [UInt8] = []
}

/// The head of the audit hash chain on the ingest writer's connection, kept in memory so that a
/// stored event costs one INSERT and two SHA-256 (its record digest and its entry hash), no SELECT.
///
/// `@unchecked Sendable`: created at open, before the writer thread starts, then used only on the
/// writer thread (the recorder, hold commands and `appendAudit` run there, inside the batch's
/// transaction). The store keeps a reference only to hand it to those commands.
///
/// Other connections append too (`mesgate outbox` in another process): they read the head inside
/// their own write transaction (`appendReadingHead`). The writer notices their commits through
/// `PRAGMA data_version` once per batch and reads the head again. A savepoint rolled back puts the
/// head back where it was (`WriterSavepoint`); after a whole transaction's rollback it is read again.
final class AuditChain: @unchecked Sendable {
    private var lastID: Int64 = 0
    private var lastHash: [UInt8] = AuditHash.genesis
    private var dataVersion: Int64 = -1
    private var stale = true

    /// The chain attached to `db` (the store's write connection; `GenealogyStore.open` attaches
    /// it), so that whatever records events or holds there appends without being handed the chain.
    /// nil on other connections: they append with `appendReadingHead`.
    static func on(_ db: SQLiteConnection) -> AuditChain? { (db.attachment as? WriterMirrors)?.audit }

    /// Reads the head (called at open, after the migrations).
    init(db: SQLiteConnection) throws(SQLiteError) {
        try resync(db)
    }

    /// Called after `BEGIN IMMEDIATE`: re-reads the head if another connection committed since.
    /// Returns whether one did (or the head was stale): what the writer's caches remember may have
    /// changed behind them.
    @discardableResult
    func beginTransaction(_ db: SQLiteConnection) throws(SQLiteError) -> Bool {
        let version = try Self.dataVersion(db)
        guard version != dataVersion || stale else { return false }
        try resync(db)
        return true
    }

    /// Called after a ROLLBACK: the in-memory head may name an entry that is gone.
    func invalidate() { stale = true }

    /// The head as it stands, to go back to when a savepoint is rolled back (`WriterSavepoint`).
    struct Mark {
        fileprivate let lastID: Int64
        fileprivate let lastHash: [UInt8]
        fileprivate let dataVersion: Int64
        fileprivate let stale: Bool
    }

    func mark() -> Mark { Mark(lastID: lastID, lastHash: lastHash, dataVersion: dataVersion, stale: stale) }

    /// After ROLLBACK TO the savepoint where `mark` was taken: the head is what it was then.
    func rollBack(to mark: Mark) {
        lastID = mark.lastID
        lastHash = mark.lastHash
        dataVersion = mark.dataVersion
        stale = mark.stale
    }

    private func resync(_ db: SQLiteConnection) throws(SQLiteError) {
        let head = try Self.head(db)
        lastID = head.id
        lastHash = head.hash
        dataVersion = try Self.dataVersion(db)
        stale = false
    }

    /// Appends one entry inside the caller's transaction; returns its id.
    @discardableResult
    func append(_ draft: AuditDraft, on db: SQLiteConnection) throws(SQLiteError) -> Int64 {
        if stale { try resync(db) }
        let id = lastID + 1
        let hash = try Self.insert(draft, id: id, prevHash: lastHash, on: db)
        lastID = id
        lastHash = hash
        return id
    }

    /// The entry of a stored event: its digest from the values just inserted (no read back).
    func eventStored(
        _ request: IngestRequest, kind: String, sequence: Int64, recordedAtMs: Int64, on db: SQLiteConnection
    )
        throws(SQLiteError)
    {
        let e = request.event
        let digest = AuditHash.record(
            tag: AuditRecord.event(sequence: sequence).tag,
            [
                .integer(sequence), .text(request.storedEventID), .text(kind), .integer(e.occurredAtMs),
                .text(e.tzOffset),
                .text(e.plant), .text(e.workCenter), .text(e.operatorID), .text(e.workOrder), .text(request.client),
                .integer(recordedAtMs), .blob(request.raw),
            ])
        try append(
            AuditDraft(
                atMs: recordedAtMs, actor: request.client, action: AuditAction.eventStored,
                subject: "event:\(sequence) \(request.storedEventID)", detail: kind, recordDigest: digest),
            on: db)
    }

    /// The entry of a record written in this transaction (a hold, a release, an outbox command):
    /// its digest read back with the statement `audit verify` uses, so both see the same bytes.
    func recordChanged(
        _ record: AuditRecord, atMs: Int64, actor: String, action: String, label: String, reason: String,
        detail: String, on db: SQLiteConnection
    ) throws(SQLiteError) {
        try append(
            Self.draft(
                record, atMs: atMs, actor: actor, action: action, label: label, reason: reason, detail: detail, db),
            on: db)
    }

    static func draft(
        _ record: AuditRecord, atMs: Int64, actor: String, action: String, label: String, reason: String,
        detail: String, _ db: SQLiteConnection
    ) throws(SQLiteError) -> AuditDraft {
        let subject = label.isEmpty ? record.subjectKey : "\(record.subjectKey) \(label)"
        return AuditDraft(
            atMs: atMs, actor: actor, action: action, subject: subject, reason: reason, detail: detail,
            recordDigest: try record.digest(on: db) ?? [])
    }

    // MARK: Other connections

    /// Appends on a connection that holds the write lock (inside `BEGIN IMMEDIATE`) but keeps no
    /// head: reads the head first.
    @discardableResult
    static func appendReadingHead(_ draft: AuditDraft, on db: SQLiteConnection) throws(SQLiteError) -> Int64 {
        let head = try head(db)
        _ = try insert(draft, id: head.id + 1, prevHash: head.hash, on: db)
        return head.id + 1
    }

    static func head(_ db: SQLiteConnection) throws(SQLiteError) -> (id: Int64, hash: [UInt8]) {
        try db.cachedStatement("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").first {
            ($0.int64(at: 0), $0.blob(at: 1))
        } ?? (0, AuditHash.genesis)
    }

    private static func insert(_ d: AuditDraft, id: Int64, prevHash: [UInt8], on db: SQLiteConnection)
        throws(SQLiteError) -> [UInt8]
    {
        let hash = AuditHash.entry(
            prevHash: prevHash, id: id, atMs: d.atMs, actor: d.actor, action: d.action, subject: d.subject,
            reason: d.reason, detail: d.detail, recordDigest: d.recordDigest)
        try db.run(
            """
            INSERT INTO audit_log (id, at_ms, actor, action, subject, reason, detail, record_digest, prev_hash, hash)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
            """,
            [
                .integer(id), .integer(d.atMs), .text(d.actor), .text(d.action), .text(d.subject), .text(d.reason),
                .text(d.detail), .blob(d.recordDigest), .blob(prevHash), .blob(hash),
            ])
        return hash
    }

    private static func dataVersion(_ db: SQLiteConnection) throws(SQLiteError) -> Int64 {
        guard case .integer(let v) = try db.scalar("PRAGMA data_version") else { return -1 }
        return v
    }
}

extension AuditChain {
    /// The entry of an event the store refused (a Shipped of a held item): kept in
    /// `refused_events`, described here without a digest (that table is for people to look at).
    func eventRefused(_ request: IngestRequest, reason: String, atMs: Int64, on db: SQLiteConnection)
        throws(SQLiteError)
    {
        try append(
            AuditDraft(
                atMs: atMs, actor: request.client, action: AuditAction.eventRefused,
                subject: "event_id \(request.event.eventID)", reason: reason,
                detail: request.event.body?.name ?? ""),
            on: db)
    }
}
