public import MESDomain
import SQLite
import Synchronization

/// A correction of one stored event, as a person or an MES asks for it: void it, or replace it by
/// `replacement` (a new event with its own id). Who and why are kept with it.
public struct CorrectionRequest: Sendable {
    /// The stored event's `event_id`.
    public var eventID: String
    public var reason: String
    /// The corrected event (validated by the caller); nil: the event is voided.
    public var replacement: IngestRequest?
    /// Who asks (the client's or the operating-system user's name).
    public var by: String

    public init(eventID: String, reason: String, replacement: IngestRequest? = nil, by: String) {
        self.eventID = eventID
        self.reason = reason
        self.replacement = replacement
        self.by = by
    }
}

/// A correction as stored.
public struct Correction: Sendable, Hashable {
    public var id: Int64
    /// The corrected event.
    public var eventID: String
    public var sequence: Int64
    /// The replacement (nil when voided).
    public var replacementEventID: String?
    public var replacementSequence: Int64?
    public var reason: String
    public var by: String
    public var atMs: Int64
    /// Odoo documents the outbox posts again because of it (`work_order:<name>`, ...).
    public var reposted: [String] = []
    /// What Odoo recorded already that no posting takes back (a scrap, a downtime, a quality note):
    /// to be reversed there by a person.
    public var odooToReverse: [String] = []

    public var isVoid: Bool { replacementSequence == nil }
}

public enum CorrectionOutcome: Sendable, Hashable {
    case corrected(Correction)
    /// No stored event has that id.
    case notFound
    /// The event was corrected before (by this correction).
    case correctedBefore(Correction)
    /// The replacement was refused: its id is stored already, or the store refuses it (a
    /// shipment of a held lot). Nothing changed.
    case replacementRefused(GenealogyStoreError)
    /// Not done (store closed, queue full, or the transaction failed).
    case failed(GenealogyStoreError)
}

extension GenealogyStore {
    /// Voids or replaces a stored event on the writer thread (see `CorrectionRecorder`);
    /// `decode` turns stored event bytes into the event (the store keeps bytes, not their codec).
    public func correct(
        _ request: CorrectionRequest, decode: @escaping @Sendable ([UInt8]) -> Event?,
        completion: @escaping @Sendable (CorrectionOutcome) -> Void
    ) {
        submitCommand(failed: { .failed($0) }, completion: completion) { db, nowMs throws(SQLiteError) in
            try CorrectionRecorder(db: db, nowMs: nowMs, decode: decode).record(request)
        }
    }

    /// `correct`, awaiting the outcome (the CLI and tests).
    public func correct(_ request: CorrectionRequest, decode: @escaping @Sendable ([UInt8]) -> Event?) async
        -> CorrectionOutcome
    {
        await withCheckedContinuation { done in correct(request, decode: decode) { done.resume(returning: $0) } }
    }

    /// At the hub: applies a correction `plant` made to one of its replicated events (the plant's
    /// ids and sequences), on the writer thread (see `CorrectionRecorder.recordPlant`).
    public func applyPlantCorrection(
        _ correction: ReplicatedCorrection, from plant: String, decode: @escaping @Sendable ([UInt8]) -> Event?,
        completion: @escaping @Sendable (PlantCorrectionOutcome) -> Void
    ) {
        submitCommand(failed: { .failed($0) }, completion: completion) { db, nowMs throws(SQLiteError) in
            try CorrectionRecorder(db: db, nowMs: nowMs, decode: decode).recordPlant(correction, from: plant)
        }
    }

    /// Every correction, oldest first.
    public func corrections() throws -> [Correction] {
        try storeQuery { db throws(SQLiteError) in try CorrectionRecorder.all(db) }
    }
}

public enum PlantCorrectionOutcome: Sendable, Hashable {
    /// Applied: the hub's correction, with the hub's sequences.
    case applied(Correction)
    /// The hub's event was corrected before (a second delivery of the same correction).
    case appliedBefore(Correction)
    /// The corrected event or its replacement is not in the hub's store: the reason.
    case missing(String)
    /// Not done (store closed, queue full, or the transaction failed): to be tried again.
    case failed(GenealogyStoreError)
}

/// The writer-thread part of a correction, inside the batch's transaction and its own savepoint.
///
/// A void takes back what the event made: its genealogy edges (a consumption's link, a split, a
/// packing; an unpacking is undone), its receipt or shipment row, a production's quantity on the
/// order → output edge, and a shipped or scrapped status it set when nothing else holds it; the
/// exceptions it raised are closed ("closed by correction N"). The
/// event's outbox row is posted again when it belongs to a production order (the order's totals,
/// computed without voided events, bring Odoo to the corrected plant and resolve the order's dead
/// rows); a scrap, downtime or quality row not yet posted is skipped; one Odoo has
/// recorded is named in `odooToReverse`. A replacement is stored through the normal event path
/// (its own outbox row posts its effect).
struct CorrectionRecorder {
    let db: SQLiteConnection
    let nowMs: Int64
    let decode: @Sendable ([UInt8]) -> Event?

    func record(_ request: CorrectionRequest) throws(SQLiteError) -> CorrectionOutcome {
        let held = HeldNodes()
        return try WriterSavepoint.run("correction", on: db, held: held) { () throws(SQLiteError) in
            try record(request, held: held)
        }
    }

    private func record(_ request: CorrectionRequest, held: HeldNodes) throws(SQLiteError)
        -> WriterSavepoint.End<CorrectionOutcome>
    {
        guard
            let (sequence, raw) = try db.cachedStatement("SELECT sequence, raw FROM events WHERE event_id = ?1")
                .first([.text(request.eventID)], { ($0.int64(at: 0), $0.blob(at: 1)) })
        else { return .release(.notFound) }
        if let before = try Self.correction(of: sequence, db) { return .release(.correctedBefore(before)) }
        var replacementSequence: Int64?
        if let replacement = request.replacement {
            let recorder = EventRecorder(db: db, nowMs: nowMs, held: held)
            switch try recorder.record(replacement) {
            case .stored(let stored): replacementSequence = stored
            case .duplicate(let stored):
                return .rollBack(
                    .replacementRefused(
                        GenealogyStoreError(
                            .conflict,
                            "the replacement's event_id \(replacement.event.eventID) is stored already (sequence \(stored)): give the corrected event an id of its own"
                        )))
            case .refused(let reason): return .rollBack(.replacementRefused(GenealogyStoreError(.refused, reason)))
            case .conflict(let reason): return .rollBack(.replacementRefused(GenealogyStoreError(.conflict, reason)))
            case .invalid(let field, let reason):
                return .rollBack(.replacementRefused(GenealogyStoreError(.invalid, reason, field: field)))
            }
        }
        let (reposted, toReverse) = try apply(
            sequence: sequence, eventID: request.eventID, raw: raw, replacementSequence: replacementSequence,
            reason: request.reason, by: request.by)
        var correction = try Self.correction(of: sequence, db)!
        correction.reposted = reposted
        correction.odooToReverse = toReverse
        return .release(.corrected(correction))
    }

    /// At the hub: the plant's correction of one of its events, applied to the hub's copy of it as
    /// the plant applied it to its own (the same rows taken back; no outbox at the hub). The
    /// replacement arrived before it, as a plant event. Kept under the plant's time, person and
    /// reason; a second delivery changes nothing.
    func recordPlant(_ correction: ReplicatedCorrection, from plant: String) throws(SQLiteError)
        -> PlantCorrectionOutcome
    {
        try WriterSavepoint.run("correction", on: db, held: nil) { () throws(SQLiteError) in
            func hubEvent(_ plantSequence: Int64) throws(SQLiteError) -> (Int64, String, [UInt8])? {
                try db.cachedStatement(
                    """
                    SELECT e.sequence, e.event_id, e.raw FROM plant_events p JOIN events e ON e.sequence = p.sequence
                    WHERE p.plant = ?1 AND p.plant_sequence = ?2
                    """
                ).first([.text(plant), .integer(plantSequence)]) {
                    ($0.int64(at: 0), $0.string(at: 1), $0.blob(at: 2))
                }
            }
            guard let (sequence, eventID, raw) = try hubEvent(correction.sequence) else {
                return .release(
                    .missing(
                        "correction \(correction.id) of plant \(plant) names its event \(correction.sequence), which the hub does not hold"
                    ))
            }
            if let before = try Self.correction(of: sequence, db) { return .release(.appliedBefore(before)) }
            var replacement: Int64?
            if let plantReplacement = correction.replacementSequence {
                guard let (stored, _, _) = try hubEvent(plantReplacement) else {
                    return .release(
                        .missing(
                            "correction \(correction.id) of plant \(plant) names its replacement \(plantReplacement), which the hub does not hold"
                        ))
                }
                replacement = stored
            }
            _ = try apply(
                sequence: sequence, eventID: eventID, raw: raw, replacementSequence: replacement,
                reason: correction.reason, by: correction.by, correctedAtMs: correction.atMs)
            return .release(.applied(try Self.correction(of: sequence, db)!))
        }
    }

    /// Records the correction of the stored event at `sequence` and takes back what it made; the
    /// Odoo documents posted again, and what Odoo keeps. Also used by EPCIS imports (an
    /// `errorDeclaration`). `correctedAtMs`: when it was decided, if not now (a plant's, at the hub).
    func apply(
        sequence: Int64, eventID: String, raw: [UInt8], replacementSequence: Int64?, reason: String, by: String,
        correctedAtMs: Int64? = nil
    ) throws(SQLiteError) -> (reposted: [String], toReverse: [String]) {
        try db.run(
            """
            INSERT INTO corrections (sequence, replacement_sequence, reason, corrected_by, corrected_at_ms)
            VALUES (?1, ?2, ?3, ?4, ?5)
            """,
            [
                .integer(sequence), replacementSequence.map { .integer($0) } ?? .null, .text(reason), .text(by),
                .integer(correctedAtMs ?? nowMs),
            ])
        let id = db.lastInsertRowID
        // What it raised for a person to look at (a lot never received) is closed, not deleted:
        // who looked at it and when stays.
        try ExceptionBook(db: db, nowMs: nowMs).closeRaised(
            bySequence: sequence, by: by, reason: "closed by correction \(id): \(reason)")
        if let event = decode(raw) { try takeBack(event, sequence: sequence) }
        let settled = try settleOutbox(of: sequence, correction: id)
        try AuditChain.on(db)?.recordChanged(
            .correction(id: id), atMs: nowMs, actor: by,
            action: replacementSequence == nil ? AuditAction.eventVoided : AuditAction.eventCorrected,
            label: "event:\(sequence) \(eventID)", reason: reason,
            detail: replacementSequence.map { "replaced by sequence \($0)" } ?? "voided", on: db)
        return settled
    }

    /// Undoes the rows `event` made when it was stored (see `EventRecorder.recordBody`). Each row
    /// is found from the node the event names (through the nodes' unique indexes): no index has
    /// `sequence`, and looking for it in `edges`, `receipts` or `event_nodes` would read the whole
    /// table, holding the writer for seconds on a store of millions of events.
    private func takeBack(_ event: Event, sequence: Int64) throws(SQLiteError) {
        guard let body = event.body else { return }
        // The nodes the writer made or found for the event's references (`GenealogyRows.node`).
        let rows = GenealogyRows(db: db, nowMs: nowMs)
        func node(_ ref: LotRef) throws(SQLiteError) -> Int64? { try rows.lookup(ref)?.id }
        // Every edge an event makes starts at a node it names as an input: a consumption's
        // component, a split's lot, a packing's contents (an order → output link is shared with
        // later reports: its quantity is taken back below, the link stays while the output exists).
        let inputs: [LotRef] =
            switch body {
            case .consumed(let c): [c.component]
            case .moved(let m): [m.lot]
            case .packed(let p): p.contents
            default: []
            }
        for input in inputs {
            guard let from = try node(input) else { continue }
            if case .consumed = body {
                // A direct edge is what links a consumption to its component and output
                // (`EventLinks`): the links stay, so the history still lists the corrected event.
                try db.run(
                    """
                    INSERT OR IGNORE INTO event_nodes (node_id, sequence, role)
                    SELECT from_node, sequence, 'component' FROM edges WHERE from_node = ?1 AND sequence = ?2 AND kind = 'direct'
                    UNION ALL
                    SELECT to_node, sequence, 'into' FROM edges WHERE from_node = ?1 AND sequence = ?2 AND kind = 'direct'
                    """, [.integer(from), .integer(sequence)])
            }
            try db.run(
                "DELETE FROM edges WHERE from_node = ?1 AND sequence = ?2 AND kind != 'order_output'",
                [.integer(from), .integer(sequence)])
            if case .packed(let p) = body, p.action == .delete {
                try db.run(
                    "UPDATE edges SET ended_sequence = NULL WHERE from_node = ?1 AND ended_sequence = ?2",
                    [.integer(from), .integer(sequence)])
            }
        }
        switch body {
        case .produced(let p):
            guard let good = p.good?.value, good != 0, !event.workOrder.isEmpty,
                let order = try rows.lookupOrder(event.workOrder), let output = try node(p.output)
            else { break }
            try db.run(
                """
                UPDATE edges SET qty = qty - ?3
                WHERE from_node = ?1 AND to_node = ?2 AND kind = 'order_output' AND qty IS NOT NULL
                """, [.integer(order), .integer(output), .real(good)])
        case .received(let r):
            guard let lot = try node(r.lot) else { break }
            try db.run(
                "DELETE FROM receipts WHERE node_id = ?1 AND sequence = ?2", [.integer(lot), .integer(sequence)])
        case .shipped(let s):
            guard let lot = try node(s.lot) else { break }
            try db.run(
                "DELETE FROM shipments WHERE node_id = ?1 AND sequence = ?2", [.integer(lot), .integer(sequence)])
            try restoreStatus("shipped", of: lot, sequence: sequence)
        case .scrapped(let s):
            guard s.lot.isTracked, let lot = try node(s.lot) else { break }
            try restoreStatus("scrapped", of: lot, sequence: sequence)
        default:
            break
        }
    }

    /// Sets `node`, the event's lot, back to active when this event set `status` and no other
    /// stored, uncorrected event of that kind (`shipped`, `scrapped`: kind and status are one word)
    /// names it (a hold is never undone here).
    private func restoreStatus(_ status: String, of node: Int64, sequence: Int64) throws(SQLiteError) {
        try db.run(
            """
            UPDATE nodes SET status = 'active'
            WHERE status = ?2 AND id = ?3
              AND NOT EXISTS (
                SELECT 1 FROM event_nodes en JOIN events e ON e.sequence = en.sequence
                WHERE en.node_id = nodes.id AND en.sequence != ?1 AND e.kind = ?2
                  AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.sequence = e.sequence))
            """, [.integer(sequence), .text(status), .integer(node)])
    }

    /// Posts the event's order again, or resolves its unposted row; names what Odoo keeps.
    private func settleOutbox(of sequence: Int64, correction: Int64) throws(SQLiteError) -> ([String], [String]) {
        guard
            let (id, kind, document, state, answer) = try db.cachedStatement(
                "SELECT id, kind, document_key, state, odoo_answer FROM outbox WHERE sequence = ?1"
            ).first(
                [.integer(sequence)],
                { ($0.int64(at: 0), $0.string(at: 1), $0.string(at: 2), $0.string(at: 3), $0.string(at: 4)) })
        else { return ([], []) }
        if ["produced", "consumed", "operation"].contains(kind) && document.hasPrefix("work_order:") {
            try db.run(
                """
                UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at_ms = ?2, last_error = '',
                  updated_at_ms = ?2
                WHERE id = ?1
                """, [.integer(id), .integer(nowMs)])
            return ([document], [])
        }
        if state == "posted" { return ([], ["\(document): \(answer)"]) }
        try db.run(
            """
            UPDATE outbox SET state = 'resolved', resolved_note = ?2, updated_at_ms = ?3 WHERE id = ?1
            """,
            [.integer(id), .text("not posted: the event was corrected (correction \(correction))"), .integer(nowMs)])
        return ([], [])
    }

    static let columns = """
        c.id, e.event_id, c.sequence, r.event_id, c.replacement_sequence, c.reason, c.corrected_by, c.corrected_at_ms
        FROM corrections c JOIN events e ON e.sequence = c.sequence
        LEFT JOIN events r ON r.sequence = c.replacement_sequence
        """

    static func correction(of sequence: Int64, _ db: SQLiteConnection) throws(SQLiteError) -> Correction? {
        try db.cachedStatement("SELECT \(columns) WHERE c.sequence = ?1").first([.integer(sequence)], row)
    }

    static func all(_ db: SQLiteConnection) throws(SQLiteError) -> [Correction] {
        var found: [Correction] = []
        try db.cachedStatement("SELECT \(columns) ORDER BY c.id").query { found.append(row($0)) }
        return found
    }

    private static func row(_ r: SQLiteStatement) -> Correction {
        Correction(
            id: r.int64(at: 0), eventID: r.string(at: 1), sequence: r.int64(at: 2),
            replacementEventID: r.isNull(at: 3) ? nil : r.string(at: 3),
            replacementSequence: r.isNull(at: 4) ? nil : r.int64(at: 4), reason: r.string(at: 5),
            by: r.string(at: 6), atMs: r.int64(at: 7))
    }
}

/// The columns and joins that mark a history's or an export's events with their corrections.
enum CorrectionMarks {
    /// Six columns: the correction of the event (id, reason, by, at, replacement's id) and the
    /// event id this event replaces.
    static let columns =
        "cm.id, cm.reason, cm.corrected_by, cm.corrected_at_ms, coalesce(cmr.event_id, ''), coalesce(cmo.event_id, '')"

    /// Joins for the events table aliased `e` (each on a unique column: one row per event).
    static func joins(_ e: String) -> String {
        """
        LEFT JOIN corrections cm ON cm.sequence = \(e).sequence
        LEFT JOIN events cmr ON cmr.sequence = cm.replacement_sequence
        LEFT JOIN corrections cmc ON cmc.replacement_sequence = \(e).sequence
        LEFT JOIN events cmo ON cmo.sequence = cmc.sequence
        """
    }

    static func read(_ row: SQLiteStatement, from i: Int, into event: inout StoredEvent) {
        if !row.isNull(at: i) {
            event.correction = CorrectionMark(
                id: row.int64(at: i), reason: row.string(at: i + 1), by: row.string(at: i + 2),
                atMs: row.int64(at: i + 3), replacementEventID: row.string(at: i + 4))
        }
        event.corrects = row.string(at: i + 5)
    }
}
