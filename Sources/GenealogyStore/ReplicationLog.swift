public import MESDomain
import SQLite

/// What a plant gateway replicates to the hub, read from the store's commit log.
///
/// The log is `audit_log`: its ids follow commit order without gaps, and every stored event, hold
/// placed, hold released and correction has its entry, written in the same transaction. The
/// replicator reads the entries after its cursor, publishes the ones that carry a record, and moves
/// the cursor (`replication_cursor`) only when the stream has acknowledged everything up to it. Its
/// own connection, like `OutboxStore`: not `Sendable`, confined to the replicator's thread.
public final class ReplicationLog {
    private let db: SQLiteConnection
    /// Synced before entries leave the store (see `entries`).
    private let wal: WALFile

    /// Opens the log of the store at `path` (`GenealogyStore.path`), which must be migrated.
    public init(path: String) throws(GenealogyStoreError) {
        db = try .bookkeeping(at: path, for: "the replication log")
        wal = WALFile(databasePath: path)
    }

    /// The store's own random id (made by migration 9).
    public func storeID() throws(GenealogyStoreError) -> String {
        try guarded { () throws(SQLiteError) in
            try db.cachedStatement("SELECT store_id FROM store_identity WHERE id = 1").first { $0.string(at: 0) } ?? ""
        }
    }

    /// Records that this store serves `plant`; refused when it already serves another one (a store
    /// is one plant's history, and the hub tells plants apart by name).
    public func claimPlant(_ plant: String) throws(GenealogyStoreError) {
        let current = try guarded { () throws(SQLiteError) -> String? in
            try db.cachedStatement("SELECT plant FROM store_identity WHERE id = 1").first {
                $0.isNull(at: 0) ? nil : $0.string(at: 0)
            } ?? nil
        }
        if let current {
            guard current == plant else {
                throw GenealogyStoreError(
                    .refused,
                    "this store serves plant \(current), not \(plant): a store is one plant's history")
            }
            return
        }
        try guarded { () throws(SQLiteError) in
            try db.cachedStatement("UPDATE store_identity SET plant = ?1 WHERE id = 1 AND plant IS NULL").run([
                .text(plant)
            ])
        }
    }

    /// Where the replication to `stream` stands: the last acknowledged log entry and the last event
    /// among the entries up to it (0, 0 before the first).
    public func cursor(stream: String) throws(GenealogyStoreError) -> ReplicationCursor {
        try guarded { () throws(SQLiteError) in
            try db.cachedStatement("SELECT audit_id, event_sequence FROM replication_cursor WHERE stream = ?1").first(
                [.text(stream)]
            ) { ReplicationCursor(auditID: $0.int64(at: 0), eventSequence: $0.int64(at: 1)) }
                ?? ReplicationCursor(auditID: 0, eventSequence: 0)
        }
    }

    /// Moves the cursor of `stream` forward to `cursor` (never back: see `ReplicationCursor.isAhead`).
    public func advance(stream: String, to cursor: ReplicationCursor, nowMs: Int64) throws(GenealogyStoreError) {
        try guarded { () throws(SQLiteError) in
            try db.cachedStatement(
                """
                INSERT INTO replication_cursor (stream, audit_id, event_sequence, updated_at_ms) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT (stream) DO UPDATE SET audit_id = excluded.audit_id,
                    event_sequence = max(event_sequence, excluded.event_sequence), updated_at_ms = excluded.updated_at_ms
                WHERE excluded.audit_id > replication_cursor.audit_id
                   OR (excluded.audit_id = replication_cursor.audit_id
                       AND excluded.event_sequence > replication_cursor.event_sequence)
                """
            ).run([.text(stream), .integer(cursor.auditID), .integer(cursor.eventSequence), .integer(nowMs)])
        }
    }

    /// The records after `cursor`, at most `limit` of them, in log order. An entry of a run of
    /// events (`EventRun`) gives one record per event, and may be cut: then `through` names that
    /// entry and its last event returned, and the next read goes on inside it. Entries that carry
    /// no record (an export, a refused login, an outbox command) only move the cursor.
    public func entries(after cursor: ReplicationCursor, limit: Int) throws(GenealogyStoreError) -> ReplicationBatch {
        let batch = try guarded { () throws(SQLiteError) in
            var batch = ReplicationBatch(records: [], through: cursor)
            // From the cursor's own entry on: a run it names may have events after its last one.
            var entries: [(id: Int64, action: String, subject: String)] = []
            try db.cachedStatement(
                "SELECT id, action, subject FROM audit_log WHERE id >= ?1 ORDER BY id LIMIT ?2"
            ).query([.integer(cursor.auditID), .int(max(1, limit) + 1)]) {
                entries.append(($0.int64(at: 0), $0.string(at: 1), $0.string(at: 2)))
            }
            for entry in entries where batch.records.count < limit {
                if let run = eventRange(of: entry.action, entry.subject) {
                    let first = max(run.lowerBound, batch.through.eventSequence + 1)
                    // Cut by the limit, `through` names this entry and its last event read: the next
                    // read starts at this entry again and goes on after that event.
                    if first <= run.upperBound {
                        try events(first...run.upperBound, limit: limit - batch.records.count) { event in
                            batch.records.append(ReplicationRecord(auditID: entry.id, change: .event(event)))
                            batch.through.eventSequence = event.sequence
                        }
                    }
                } else if entry.id > cursor.auditID, let change = try record(of: entry.action, entry.subject) {
                    batch.records.append(ReplicationRecord(auditID: entry.id, change: change))
                }
                batch.through.auditID = entry.id  // entries come in id order from the cursor's own
            }
            return batch
        }
        // The writer acks a commit only once the log is synced (`CommitSyncer`), but others see it
        // before: what leaves for the hub must be on the disk first, or a power cut could take back
        // audit ids the hub has already seen.
        if batch.through != cursor { try wal.syncBeforeTelling() }
        return batch
    }

    /// How far the stream is behind the store: events not yet acknowledged, and when the oldest of
    /// them was recorded (nil when none is waiting).
    public func lag(behind cursor: ReplicationCursor) throws(GenealogyStoreError) -> ReplicationLag {
        try guarded { () throws(SQLiteError) in
            let newest =
                try db.cachedStatement("SELECT coalesce(max(sequence), 0) FROM events").first { $0.int64(at: 0) } ?? 0
            let oldest = try db.cachedStatement(
                "SELECT recorded_at_ms FROM events WHERE sequence > ?1 ORDER BY sequence LIMIT 1"
            ).first([.integer(cursor.eventSequence)]) { $0.int64(at: 0) }
            return ReplicationLag(events: max(0, newest - cursor.eventSequence), oldestWaitingRecordedAtMs: oldest)
        }
    }

    /// The sequences an `event_stored` entry describes: a run, or one event (stores written before
    /// runs); nil for any other entry.
    private func eventRange(of action: String, _ subject: String) -> ClosedRange<Int64>? {
        if let run = EventRun.of(action: action, subject: subject) { return run.first...run.last }
        if case .event(let sequence) = AuditRecord.of(action: action, subject: subject) { return sequence...sequence }
        return nil
    }

    /// What an entry other than `event_stored` carries to the hub: a hold placed or released, a
    /// correction; nil for the rest (an export, a refused login, an outbox command).
    private func record(of action: String, _ subject: String) throws(SQLiteError) -> ReplicationRecord.Change? {
        switch AuditRecord.of(action: action, subject: subject) {
        case .holdPlaced(let id): try hold(id).map { .holdPlaced($0) }
        case .holdReleased(let id): try hold(id).map { .holdReleased($0) }
        case .correction(let id): try correction(id).map { .correction($0) }
        default: nil
        }
    }

    /// The stored events in `range`, in sequence order, at most `limit`.
    private func events(
        _ range: ClosedRange<Int64>, limit: Int, _ each: (ReplicatedEvent) throws(SQLiteError) -> Void
    ) throws(SQLiteError) {
        try db.cachedStatement(
            """
            SELECT sequence, event_id, kind, recorded_at_ms, client, raw FROM events
            WHERE sequence BETWEEN ?1 AND ?2 ORDER BY sequence LIMIT ?3
            """
        ).query([.integer(range.lowerBound), .integer(range.upperBound), .int(limit)]) { (row) throws(SQLiteError) in
            try each(
                ReplicatedEvent(
                    sequence: row.int64(at: 0), eventID: row.string(at: 1), kind: row.string(at: 2),
                    recordedAtMs: row.int64(at: 3), client: row.string(at: 4), raw: row.blob(at: 5)))
        }
    }

    private func hold(_ id: Int64) throws(SQLiteError) -> ReplicatedHold? {
        try db.cachedStatement(
            """
            SELECT h.id, n.product, n.lot, n.serial, n.container, h.reason, h.placed_by, h.propagate, h.placed_at_ms,
                   h.released_at_ms, h.released_by, h.release_reason
            FROM holds h JOIN nodes n ON n.id = h.node_id WHERE h.id = ?1
            """
        ).first([.integer(id)]) {
            ReplicatedHold(
                id: $0.int64(at: 0),
                root: LotRef(
                    product: $0.string(at: 1), lot: $0.string(at: 2), serial: $0.string(at: 3),
                    container: $0.string(at: 4)),
                reason: $0.string(at: 5), placedBy: $0.string(at: 6), propagate: $0.int64(at: 7) != 0,
                placedAtMs: $0.int64(at: 8), releasedAtMs: $0.isNull(at: 9) ? nil : $0.int64(at: 9),
                releasedBy: $0.string(at: 10), releaseReason: $0.string(at: 11))
        }
    }

    private func correction(_ id: Int64) throws(SQLiteError) -> ReplicatedCorrection? {
        try db.cachedStatement(
            """
            SELECT id, sequence, replacement_sequence, reason, corrected_by, corrected_at_ms FROM corrections
            WHERE id = ?1
            """
        ).first([.integer(id)]) {
            ReplicatedCorrection(
                id: $0.int64(at: 0), sequence: $0.int64(at: 1),
                replacementSequence: $0.isNull(at: 2) ? nil : $0.int64(at: 2), reason: $0.string(at: 3),
                by: $0.string(at: 4), atMs: $0.int64(at: 5))
        }
    }

    private func guarded<T>(_ body: () throws(SQLiteError) -> T) throws(GenealogyStoreError) -> T {
        try guardedQuery("the replication log", body)
    }
}

/// Where a stream stands in the log: the last entry it has acknowledged, whole or (a run of events
/// cut by a batch) up to `eventSequence`, and the last event it has acknowledged.
public struct ReplicationCursor: Sendable, Hashable {
    public var auditID: Int64
    public var eventSequence: Int64

    public init(auditID: Int64, eventSequence: Int64) {
        self.auditID = auditID
        self.eventSequence = eventSequence
    }

    /// Whether this position is further along the log than `other`: a later entry, or more of
    /// the same run of events.
    public func isAhead(of other: ReplicationCursor) -> Bool {
        auditID > other.auditID || (auditID == other.auditID && eventSequence > other.eventSequence)
    }
}

/// Entries read after a cursor: the records to publish, and the cursor once they are all acknowledged.
public struct ReplicationBatch: Sendable {
    public var records: [ReplicationRecord]
    public var through: ReplicationCursor
}

/// One record to publish, at its place in the commit log.
public struct ReplicationRecord: Sendable {
    public var auditID: Int64
    public var change: Change

    public init(auditID: Int64, change: Change) {
        self.auditID = auditID
        self.change = change
    }

    public enum Change: Sendable {
        case event(ReplicatedEvent)
        case holdPlaced(ReplicatedHold)
        case holdReleased(ReplicatedHold)
        case correction(ReplicatedCorrection)
    }
}

/// A stored event as it is replicated: its `mes.v1.Event` bytes and where and when it was stored.
public struct ReplicatedEvent: Sendable, Hashable {
    public var sequence: Int64
    public var eventID: String
    public var kind: String
    public var recordedAtMs: Int64
    public var client: String
    public var raw: [UInt8]

    public init(sequence: Int64, eventID: String, kind: String, recordedAtMs: Int64, client: String, raw: [UInt8]) {
        self.sequence = sequence
        self.eventID = eventID
        self.kind = kind
        self.recordedAtMs = recordedAtMs
        self.client = client
        self.raw = raw
    }
}

/// A hold as it is replicated (placed, or placed and released).
public struct ReplicatedHold: Sendable, Hashable {
    public var id: Int64
    public var root: LotRef
    public var reason: String
    public var placedBy: String
    public var propagate: Bool
    public var placedAtMs: Int64
    public var releasedAtMs: Int64?
    public var releasedBy: String
    public var releaseReason: String

    public init(
        id: Int64, root: LotRef, reason: String, placedBy: String, propagate: Bool, placedAtMs: Int64,
        releasedAtMs: Int64?, releasedBy: String, releaseReason: String
    ) {
        self.id = id
        self.root = root
        self.reason = reason
        self.placedBy = placedBy
        self.propagate = propagate
        self.placedAtMs = placedAtMs
        self.releasedAtMs = releasedAtMs
        self.releasedBy = releasedBy
        self.releaseReason = releaseReason
    }
}

/// A correction as it is replicated: the corrected event and its replacement by their sequences in
/// the plant's store (the replacement, stored in the correction's transaction, comes before it in the
/// log), who, why and when.
public struct ReplicatedCorrection: Sendable, Hashable {
    public var id: Int64
    public var sequence: Int64
    /// nil when the event was voided.
    public var replacementSequence: Int64?
    public var reason: String
    public var by: String
    public var atMs: Int64

    public init(id: Int64, sequence: Int64, replacementSequence: Int64?, reason: String, by: String, atMs: Int64) {
        self.id = id
        self.sequence = sequence
        self.replacementSequence = replacementSequence
        self.reason = reason
        self.by = by
        self.atMs = atMs
    }
}

/// How far a stream is behind the store.
public struct ReplicationLag: Sendable, Hashable {
    public var events: Int64
    public var oldestWaitingRecordedAtMs: Int64?
}
