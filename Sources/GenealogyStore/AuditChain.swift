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

/// The head of the audit hash chain on the ingest writer's connection, kept in memory so that
/// appending costs one INSERT and no SELECT.
///
/// Stored events are entered by the run, not one by one: consecutive events of one transaction
/// make one `event_stored` entry, `events:<first>-<last>`, whose record digest is their record
/// digests in sequence order (32 bytes each), and whose actor names their clients (each event's
/// own client is in its row, and so in its digest). A stored event costs one SHA-256 (its record)
/// and 32 bytes of that entry. The run is appended before any other entry, before COMMIT
/// (`WriterMirrors.beforeCommit`), and when it reaches `EventRun.limit` events, so the chain keeps
/// commit order and `audit verify` still names the event that changed (`AuditVerifier`).
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
    /// The events stored in this transaction, in order; those from `runStart` on are not in the
    /// chain yet. Kept whole until the transaction ends, so a savepoint rolled back after the run
    /// was appended can take the run back as it was (`rollBack(to:)`).
    private var stored: [StoredEventDigest] = []
    private var runStart = 0

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
        endTransaction()
        let version = try Self.dataVersion(db)
        guard version != dataVersion || stale else { return false }
        try resync(db)
        return true
    }

    /// Called after a ROLLBACK: the in-memory head may name an entry that is gone, and the events
    /// of the run are gone.
    func invalidate() {
        stale = true
        endTransaction()
    }

    /// Called just before COMMIT, inside the transaction: the run still waiting becomes its entry.
    func beforeCommit(_ db: SQLiteConnection) throws(SQLiteError) {
        try appendRun(on: db)
        endTransaction()
    }

    private func endTransaction() {
        stored.removeAll(keepingCapacity: true)
        runStart = 0
    }

    /// The head as it stands, to go back to when a savepoint is rolled back (`WriterSavepoint`).
    struct Mark {
        fileprivate let lastID: Int64
        fileprivate let lastHash: [UInt8]
        fileprivate let dataVersion: Int64
        fileprivate let stale: Bool
        fileprivate let stored: Int
        fileprivate let runStart: Int
    }

    func mark() -> Mark {
        Mark(
            lastID: lastID, lastHash: lastHash, dataVersion: dataVersion, stale: stale, stored: stored.count,
            runStart: runStart)
    }

    /// After ROLLBACK TO the savepoint where `mark` was taken: the head, and the run waiting to be
    /// appended, are what they were then (an entry of the run appended since is rolled back too).
    func rollBack(to mark: Mark) {
        lastID = mark.lastID
        lastHash = mark.lastHash
        dataVersion = mark.dataVersion
        stale = mark.stale
        stored.removeSubrange(min(mark.stored, stored.count)...)
        runStart = min(mark.runStart, stored.count)
    }

    private func resync(_ db: SQLiteConnection) throws(SQLiteError) {
        let head = try Self.head(db)
        lastID = head.id
        lastHash = head.hash
        dataVersion = try Self.dataVersion(db)
        stale = false
    }

    /// Appends one entry inside the caller's transaction, after the run of stored events waiting
    /// (so the chain keeps the order things were written in); returns its id.
    @discardableResult
    func append(_ draft: AuditDraft, on db: SQLiteConnection) throws(SQLiteError) -> Int64 {
        try appendRun(on: db)
        return try appendEntry(draft, on: db)
    }

    private func appendEntry(_ draft: AuditDraft, on db: SQLiteConnection) throws(SQLiteError) -> Int64 {
        if stale { try resync(db) }
        let id = lastID + 1
        let hash = try Self.insert(draft, id: id, prevHash: lastHash, on: db)
        lastID = id
        lastHash = hash
        return id
    }

    /// A stored event joins the run (its digest from the values just inserted, no read back). The
    /// run is appended first when this event cannot continue it: a gap in the sequences, another
    /// clock (a command retried with savepoints reads its own), or a full run.
    func eventStored(
        _ request: IngestRequest, kind: String, sequence: Int64, recordedAtMs: Int64, on db: SQLiteConnection
    )
        throws(SQLiteError)
    {
        let e = request.event
        let digest = AuditHash.record(
            tag: AuditRecord.eventTag,
            [
                .integer(sequence), .text(request.storedEventID), .text(kind), .integer(e.occurredAtMs),
                .text(e.tzOffset),
                .text(e.plant), .text(e.workCenter), .text(e.operatorID), .text(e.workOrder), .text(request.client),
                .integer(recordedAtMs), .blob(request.raw),
            ])
        let event = StoredEventDigest(
            sequence: sequence, client: request.client, recordedAtMs: recordedAtMs, kind: kind, digest: digest)
        if let last = stored.last, stored.count > runStart, !event.continues(last, runLength: stored.count - runStart) {
            try appendRun(on: db)
        }
        stored.append(event)
    }

    /// Appends the run waiting, if any, as one `event_stored` entry.
    private func appendRun(on db: SQLiteConnection) throws(SQLiteError) {
        guard stored.count > runStart else { return }
        let run = stored[runStart...]
        let first = run[run.startIndex]
        let last = run[run.endIndex - 1]
        var digests: [UInt8] = []
        digests.reserveCapacity(run.count * 32)
        for event in run { digests.append(contentsOf: event.digest) }
        _ = try appendEntry(
            AuditDraft(
                atMs: first.recordedAtMs, actor: EventRun.actor(clients: run.lazy.map(\.client)),
                action: AuditAction.eventStored,
                subject: EventRun(first: first.sequence, last: last.sequence).subject,
                detail: EventRun.detail(kinds: run.lazy.map(\.kind)), recordDigest: digests),
            on: db)
        runStart = stored.count
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

/// A stored event waiting in the run: what its entry needs, and its record digest.
private struct StoredEventDigest {
    var sequence: Int64
    var client: String
    var recordedAtMs: Int64
    var kind: String
    var digest: [UInt8]

    /// Whether this event extends a run that ends with `last` and holds `runLength` events.
    func continues(_ last: StoredEventDigest, runLength: Int) -> Bool {
        sequence == last.sequence + 1 && recordedAtMs == last.recordedAtMs && runLength < EventRun.limit
    }
}
