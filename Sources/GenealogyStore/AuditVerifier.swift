import SQLite

/// What `mesgate audit verify` found.
public struct AuditVerification: Sendable, Hashable {
    /// The first thing found wrong, in chain order.
    public struct Problem: Sendable, Hashable {
        public enum Kind: String, Sendable {
            /// An entry's columns no longer give its hash.
            case altered
            /// An id is missing from 1, 2, 3, ...
            case removed
            /// An entry is intact but stands where another belongs.
            case reordered
            /// An entry does not follow the one before it (that one was altered and re-hashed).
            case broken
            /// The record an entry describes changed or is gone, or a record has no entry.
            case record
            /// SQLite found the file damaged (a page, or an index that disagrees with its table).
            case damaged
        }

        /// The entry named (for a record with no entry: the entry after which it stands, 0 for none).
        public var entry: Int64
        public var kind: Kind
        public var message: String
    }

    /// Entries walked (all of them when intact).
    public var entries: Int64
    /// The last entry's id and hash (hex); 0 and 64 zeros for an empty trail.
    public var headID: Int64
    public var headHash: String
    public var problem: Problem?

    public var intact: Bool { problem == nil }
}

/// Walks `audit_log` by id on a read-only connection inside one read transaction: checks ids
/// 1, 2, 3, ..., each entry's prev_hash against the entry before, each hash recomputed from its
/// columns, and each record digest against the record as stored. Events are checked by merging
/// the chain's `event_stored` entries (ascending sequence, one writer; an entry describes one event
/// or a run of them, `EventRun`) with the events table read in sequence order, so no event is read
/// twice and an event with no entry is found too.
struct AuditVerifier {
    let db: SQLiteConnection
    let progressEvery: Int
    let progress: (Int64, Int64) -> Void

    private typealias Problem = AuditVerification.Problem

    func run() throws(SQLiteError) -> AuditVerification {
        let total =
            try db.scalar("SELECT coalesce(max(id), 0) FROM audit_log").flatMap { v -> Int64? in
                if case .integer(let n) = v { n } else { nil }
            } ?? 0
        let chain = try db.prepare(
            """
            SELECT id, at_ms, actor, action, subject, reason, detail, record_digest, prev_hash, hash
            FROM audit_log ORDER BY id
            """)
        var events = try EventCursor(db: db)
        var walked: Int64 = 0
        var previous: (id: Int64, hash: [UInt8]) = (0, AuditHash.genesis)
        var problem: Problem?
        while problem == nil, try chain.step() {
            let id = chain.int64(at: 0)
            let action = chain.string(at: 3)
            let subject = chain.string(at: 4)
            let digest = chain.blob(at: 7)
            let prevHash = chain.blob(at: 8)
            let hash = chain.blob(at: 9)
            let recomputed = AuditHash.entry(
                prevHash: prevHash, id: id, atMs: chain.int64(at: 1), actor: chain.string(at: 2), action: action,
                subject: subject, reason: chain.string(at: 5), detail: chain.string(at: 6), recordDigest: digest)
            problem = try link(id: id, previous: previous, prevHash: prevHash, hash: hash, recomputed: recomputed)
            if problem == nil {
                problem = try checkRecord(id: id, action: action, subject: subject, digest: digest, events: &events)
            }
            previous = (id, hash)
            walked += 1
            if walked % Int64(progressEvery) == 0 { progress(walked, total) }
        }
        chain.reset()
        if problem == nil, let stray = try events.next() {
            problem = Problem(
                entry: previous.id, kind: .record,
                message:
                    "event sequence \(stray.sequence) has no audit entry (added outside mesgate, or its entry was cut from the end of the trail)"
            )
        }
        return AuditVerification(
            entries: walked, headID: previous.id, headHash: hexString(previous.hash), problem: problem)
    }

    /// Checks that entry `id` follows `previous` and is unchanged itself.
    private func link(
        id: Int64, previous: (id: Int64, hash: [UInt8]), prevHash: [UInt8], hash: [UInt8], recomputed: [UInt8]
    ) throws(SQLiteError) -> Problem? {
        let expected = previous.id + 1
        if id != expected {
            let range = id == expected + 1 ? "\(expected)" : "\(expected)-\(id - 1)"
            return Problem(
                entry: expected, kind: .removed,
                message: "entry \(range) missing (removed; \(previous.id) → \(id))")
        }
        if prevHash == previous.hash {
            return recomputed == hash
                ? nil : Problem(entry: id, kind: .altered, message: "entry \(id): hash mismatch (altered)")
        }
        // It does not follow the entry before it. Does it follow another one?
        if let other = try entry(withHash: prevHash), other != previous.id {
            return Problem(
                entry: id, kind: .reordered,
                message:
                    "entry \(id): out of order (reordered): its content follows entry \(other), not entry \(previous.id)"
            )
        }
        if recomputed != hash {
            return Problem(entry: id, kind: .altered, message: "entry \(id): hash mismatch (altered)")
        }
        return Problem(
            entry: id, kind: .broken,
            message:
                "entry \(id): its prev_hash is not entry \(previous.id)'s hash (entry \(previous.id) was altered and re-hashed, or entries were replaced)"
        )
    }

    private func entry(withHash hash: [UInt8]) throws(SQLiteError) -> Int64? {
        try db.prepare("SELECT id FROM audit_log WHERE hash = ?1 LIMIT 1").first([.blob(hash)]) { $0.int64(at: 0) }
    }

    /// Checks the record an entry describes, if any.
    private func checkRecord(id: Int64, action: String, subject: String, digest: [UInt8], events: inout EventCursor)
        throws(SQLiteError) -> Problem?
    {
        if let run = EventRun.of(action: action, subject: subject) {
            guard let count = run.count, digest.count % 32 == 0, Int64(digest.count / 32) == count else {
                return Problem(
                    entry: id, kind: .record,
                    message:
                        "entry \(id): its record digest holds \(digest.count) bytes, not 32 for each of events \(run.first)-\(run.last)"
                )
            }
            for (i, sequence) in (run.first...run.last).enumerated() {
                let expected = digest[(i * 32)..<(i * 32 + 32)]
                if let problem = try checkEvent(sequence, against: expected, entry: id, events: &events) {
                    return problem
                }
            }
            return nil
        }
        guard let record = AuditRecord.of(action: action, subject: subject) else { return nil }
        let name: String
        let stored: [UInt8]?
        switch record {
        case .event(let sequence):
            return try checkEvent(sequence, against: digest[...], entry: id, events: &events)
        case .holdPlaced(let h), .holdReleased(let h):
            name = "hold \(h)"
            stored = try record.digest(on: db)
        case .outboxCommand(let c):
            name = "outbox command \(c)"
            stored = try record.digest(on: db)
        case .correction(let c):
            name = "correction \(c)"
            stored = try record.digest(on: db)
        case .exceptionAcknowledged(let x), .exceptionClosed(let x):
            name = "exception \(x)"
            stored = try record.digest(on: db)
        }
        guard let stored else {
            return Problem(entry: id, kind: .record, message: "entry \(id): \(name) is missing (deleted)")
        }
        if stored != digest {
            return Problem(entry: id, kind: .record, message: "entry \(id): \(name) differs from its audit digest")
        }
        return nil
    }

    /// Checks event `sequence` against the digest entry `id` holds for it, taking it from the
    /// events read in sequence order; an event before it that no entry described is named too.
    private func checkEvent(
        _ sequence: Int64, against expected: ArraySlice<UInt8>, entry id: Int64, events: inout EventCursor
    ) throws(SQLiteError) -> Problem? {
        let name = "event sequence \(sequence)"
        guard let next = try events.peek(), next.sequence <= sequence else {
            return Problem(entry: id, kind: .record, message: "entry \(id): \(name) is missing (deleted)")
        }
        if next.sequence < sequence {
            return Problem(
                entry: id, kind: .record,
                message:
                    "entry \(id): event sequence \(next.sequence), stored before \(name), has no audit entry (added outside mesgate)"
            )
        }
        _ = try events.next()
        if !next.digest.elementsEqual(expected) {
            return Problem(entry: id, kind: .record, message: "entry \(id): \(name) differs from its audit digest")
        }
        return nil
    }
}

/// The events table in sequence order, one row ahead, each with its record digest.
private struct EventCursor {
    struct Row {
        var sequence: Int64
        var digest: [UInt8]
    }

    private let statement: SQLiteStatement
    private var buffered: Row?
    private var done = false

    init(db: SQLiteConnection) throws(SQLiteError) {
        statement = try db.prepare("SELECT \(AuditRecord.eventColumns) FROM events ORDER BY sequence")
    }

    mutating func peek() throws(SQLiteError) -> Row? {
        if buffered == nil && !done {
            if try statement.step() {
                let values = (0..<statement.columnCount).map { statement.value(at: $0) }
                buffered = Row(
                    sequence: statement.int64(at: 0),
                    digest: AuditHash.record(tag: AuditRecord.eventTag, values))
            } else {
                done = true
            }
        }
        return buffered
    }

    mutating func next() throws(SQLiteError) -> Row? {
        let row = try peek()
        buffered = nil
        return row
    }
}
