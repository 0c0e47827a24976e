import SQLite

/// A stored record an audit entry describes, and how its `record_digest` is computed: the tag and
/// the columns below, in this order (the immutable ones; a hold's release columns are set once, by
/// its release). The entry's subject starts with `kind:id` (`event:80 ev-1`, `hold:3 ...`), which
/// is how `audit verify` finds the record again; a run of stored events is an `EventRun` instead
/// (`events:80-143`).
enum AuditRecord: Hashable {
    case event(sequence: Int64)
    case holdPlaced(hold: Int64)
    case holdReleased(hold: Int64)
    case outboxCommand(id: Int64)
    case correction(id: Int64)
    case exceptionAcknowledged(id: Int64)
    case exceptionClosed(id: Int64)

    /// `kind:id`, how the entry's subject starts.
    var subjectKey: String {
        switch self {
        case .event(let s): "event:\(s)"
        case .holdPlaced(let h), .holdReleased(let h): "hold:\(h)"
        case .outboxCommand(let id): "outbox_audit:\(id)"
        case .correction(let id): "correction:\(id)"
        case .exceptionAcknowledged(let id), .exceptionClosed(let id): "exception:\(id)"
        }
    }

    var tag: String {
        switch self {
        case .event: Self.eventTag
        case .holdPlaced: "holds.placed"
        case .holdReleased: "holds.released"
        case .outboxCommand: "outbox_audit"
        case .correction: "corrections"
        case .exceptionAcknowledged: "exceptions.acknowledged"
        case .exceptionClosed: "exceptions.closed"
        }
    }

    var key: Int64 {
        switch self {
        case .event(let s): s
        case .holdPlaced(let h), .holdReleased(let h): h
        case .outboxCommand(let id): id
        case .correction(let id): id
        case .exceptionAcknowledged(let id), .exceptionClosed(let id): id
        }
    }

    /// The tag of an event's record digest.
    static let eventTag = "events"

    static let eventColumns =
        "sequence, event_id, kind, occurred_at_ms, tz_offset, plant, work_center, operator_id, work_order, client, recorded_at_ms, raw"

    /// The statement that reads the record's digested columns by its key (?1).
    var selectSQL: String {
        switch self {
        case .event: "SELECT \(Self.eventColumns) FROM events WHERE sequence = ?1"
        case .holdPlaced: "SELECT id, node_id, reason, placed_by, propagate, placed_at_ms FROM holds WHERE id = ?1"
        case .holdReleased:
            "SELECT id, released_at_ms, released_by, release_reason FROM holds WHERE id = ?1 AND released_at_ms IS NOT NULL"
        case .outboxCommand:
            """
            SELECT id, action, outbox_id, first_sequence, last_sequence, rows, reason, actor, at_ms
            FROM outbox_audit WHERE id = ?1
            """
        case .correction:
            "SELECT id, sequence, replacement_sequence, reason, corrected_by, corrected_at_ms FROM corrections WHERE id = ?1"
        case .exceptionAcknowledged:
            """
            SELECT id, kind, sequence, acknowledged_at_ms, acknowledged_by, acknowledge_reason
            FROM exceptions WHERE id = ?1 AND acknowledged_at_ms IS NOT NULL
            """
        case .exceptionClosed:
            """
            SELECT id, kind, sequence, closed_at_ms, closed_by, close_reason
            FROM exceptions WHERE id = ?1 AND closed_at_ms IS NOT NULL
            """
        }
    }

    /// The record an entry with `action` and `subject` describes; nil for entries about no record.
    static func of(action: String, subject: String) -> AuditRecord? {
        let head = subject.prefix { $0 != " " }
        guard let colon = head.firstIndex(of: ":"), let key = Int64(head[head.index(after: colon)...]) else {
            return nil
        }
        switch (head[..<colon], action) {
        case ("event", AuditAction.eventStored): return .event(sequence: key)
        case ("hold", AuditAction.holdPlaced): return .holdPlaced(hold: key)
        case ("hold", AuditAction.holdReleased): return .holdReleased(hold: key)
        case ("outbox_audit", _) where action.hasPrefix("outbox_"): return .outboxCommand(id: key)
        case ("correction", AuditAction.eventVoided), ("correction", AuditAction.eventCorrected):
            return .correction(id: key)
        case ("exception", AuditAction.exceptionAcknowledged): return .exceptionAcknowledged(id: key)
        case ("exception", AuditAction.exceptionClosed): return .exceptionClosed(id: key)
        default: return nil
        }
    }

    /// The record's columns as stored, or nil when it is gone.
    func values(on db: SQLiteConnection) throws(SQLiteError) -> [SQLiteValue]? {
        try db.cachedStatement(selectSQL).first([.integer(key)]) { row in
            (0..<row.columnCount).map { row.value(at: $0) }
        }
    }

    /// The record's digest as stored now, or nil when it is gone.
    func digest(on db: SQLiteConnection) throws(SQLiteError) -> [UInt8]? {
        try values(on: db).map { AuditHash.record(tag: tag, $0) }
    }
}

/// Consecutive stored events that one `event_stored` entry describes (`AuditChain`, schema version
/// 21): the subject `events:<first>-<last>`, the events' clients as actor, and a record digest that
/// is the events' record digests, 32 bytes each, in sequence order. Entries of one event each,
/// `event:<sequence> <event_id>` (`AuditRecord.event`), are what earlier versions and migration 4's
/// backfill wrote.
struct EventRun: Hashable {
    var first: Int64
    var last: Int64

    /// The most events one entry describes (a long transaction, an EPCIS import, makes several).
    static let limit = 1000

    /// How many events the run covers; nil when the range does not fit an Int64 (only a subject
    /// written by hand can have one).
    var count: Int64? {
        let (span, overflow) = last.subtractingReportingOverflow(first)
        return overflow || span == .max ? nil : span + 1
    }

    var subject: String { "events:\(first)-\(last)" }

    /// The run an entry with `action` and `subject` describes; nil for any other entry.
    static func of(action: String, subject: String) -> EventRun? {
        guard action == AuditAction.eventStored, subject.hasPrefix("events:") else { return nil }
        let range = subject.dropFirst("events:".count).prefix { $0 != " " }
        let bounds = range.split(separator: "-", maxSplits: 1)
        guard bounds.count == 2, let first = Int64(bounds[0]), let last = Int64(bounds[1]), first <= last else {
            return nil
        }
        return EventRun(first: first, last: last)
    }

    /// The entry's actor: the events' clients, each once, in the order they came; past four, how
    /// many more (`line-1, line-2`).
    static func actor(clients: some Sequence<String>) -> String {
        var distinct: [String] = []
        for client in clients where !distinct.contains(client) { distinct.append(client) }
        let named = distinct.prefix(4).joined(separator: ", ")
        return distinct.count > 4 ? "\(named) and \(distinct.count - 4) more" : named
    }

    /// The entry's detail: how many events of each kind, in the order the kinds first came
    /// (`3 events: produced 2, consumed 1`).
    static func detail(kinds: some Sequence<String>) -> String {
        var counts: [(kind: String, n: Int)] = []
        var total = 0
        for kind in kinds {
            total += 1
            if let i = counts.firstIndex(where: { $0.kind == kind }) {
                counts[i].n += 1
            } else {
                counts.append((kind, 1))
            }
        }
        let each = counts.map { "\($0.kind) \($0.n)" }.joined(separator: ", ")
        return "\(total) event\(total == 1 ? "" : "s"): \(each)"
    }
}

/// The actions the store and the gateway write (`audit_log.action`).
public enum AuditAction {
    public static let eventStored = "event_stored"
    public static let eventRefused = "event_refused"
    public static let holdPlaced = "hold_placed"
    public static let holdReleased = "hold_released"
    public static let eventVoided = "event_voided"
    public static let eventCorrected = "event_corrected"
    public static let exceptionAcknowledged = "exception_acknowledged"
    public static let exceptionClosed = "exception_closed"
    public static let export = "export"
    public static let configReload = "config_reload"
    public static let authFailure = "auth_failure"
    /// `outbox_retry`, `outbox_replay`, `outbox_skip`.
    public static func outbox(_ command: String) -> String { "outbox_\(command)" }

    /// Every action the trail may hold.
    public static let all = [
        eventStored, eventRefused, eventVoided, eventCorrected, holdPlaced, holdReleased, exceptionAcknowledged,
        exceptionClosed, export, configReload, authFailure, outbox("retry"), outbox("replay"), outbox("skip"),
    ]
}
