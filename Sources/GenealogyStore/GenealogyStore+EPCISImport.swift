import MESDomain
import SQLite
import Synchronization

extension GenealogyStore {
    /// Stores an imported EPCIS document in one transaction on the writer thread: every event
    /// through the normal event path (`EventRecorder`, without outbox rows: a supplier's events
    /// are not Odoo postings), then the `epcis_imports` row. A refusal of any event rolls all of
    /// it back. `completion` runs once, after the batch commits.
    public func importEPCIS(_ batch: EPCISImportBatch, completion: @escaping @Sendable (EPCISImportOutcome) -> Void) {
        submitCommand(failed: { .failed($0) }, completion: completion) { db, nowMs throws(SQLiteError) in
            try EPCISImportRecorder(db: db, nowMs: nowMs).record(batch)
        }
    }

    /// `importEPCIS`, awaiting the outcome.
    public func importEPCIS(_ batch: EPCISImportBatch) async -> EPCISImportOutcome {
        await withCheckedContinuation { done in importEPCIS(batch) { done.resume(returning: $0) } }
    }

    /// The stored documents, oldest first (id, sha-256, client, received, EPCIS events, stored events).
    public func epcisImports() throws -> [EPCISImportRecord] {
        try storeQuery { db throws(SQLiteError) in
            var found: [EPCISImportRecord] = []
            try db.prepare(
                "SELECT id, document_sha256, client, received_at_ms, events, stored_events FROM epcis_imports ORDER BY id"
            ).query { row in
                found.append(
                    EPCISImportRecord(
                        id: row.int64(at: 0), documentSHA256: row.string(at: 1), client: row.string(at: 2),
                        receivedAtMs: row.int64(at: 3), events: row.int(at: 4), storedEvents: row.int(at: 5)))
            }
            return found
        }
    }
}

/// One row of `epcis_imports` (without the document bytes).
public struct EPCISImportRecord: Sendable, Hashable {
    public var id: Int64
    public var documentSHA256: String
    public var client: String
    public var receivedAtMs: Int64
    public var events: Int
    public var storedEvents: Int
}

/// The writer-thread part of an import, inside the batch's transaction.
struct EPCISImportRecorder {
    let db: SQLiteConnection
    let nowMs: Int64

    /// Stores the document's events and its row in one savepoint; a refusal rolls the savepoint
    /// back, the audit head and hold cache with it (`WriterSavepoint`).
    func record(_ batch: EPCISImportBatch) throws(SQLiteError) -> EPCISImportOutcome {
        // A set of its own, read from the store on first use; the writer re-reads its own after
        // any command, this one included (an import can extend a hold to what it makes).
        let held = HeldNodes()
        return try WriterSavepoint.run("epcis_import", on: db, held: held) { () throws(SQLiteError) in
            try record(batch, held: held)
        }
    }

    private func record(_ batch: EPCISImportBatch, held: HeldNodes) throws(SQLiteError)
        -> WriterSavepoint.End<EPCISImportOutcome>
    {
        let recorder = EventRecorder(db: db, nowMs: nowMs, held: held)
        var outcomes: [IngestOutcome] = []
        outcomes.reserveCapacity(batch.requests.count)
        var stored = 0
        for (index, request) in batch.requests.enumerated() {
            switch try recorder.record(request) {
            case .stored(let sequence):
                // A supplier's events happened at the supplier: nothing of them is posted to Odoo.
                try db.run("DELETE FROM outbox WHERE sequence = ?1", [.integer(sequence)])
                outcomes.append(.accepted(sequence: sequence))
                stored += 1
            case .duplicate(let sequence):
                outcomes.append(.duplicate(sequence: sequence))
            case .refused(let reason), .conflict(let reason), .invalid(_, let reason):
                return .rollBack(.refused(index: index, reason: reason))
            }
        }
        let voided = try declare(batch)
        var importID: Int64?
        let known = try db.scalar(
            "SELECT id FROM epcis_imports WHERE document_sha256 = ?1 LIMIT 1", [.text(batch.documentSHA256)])
        if case .integer = known {
            importID = nil
        } else {
            try db.run(
                """
                INSERT INTO epcis_imports (document_sha256, client, received_at_ms, events, stored_events, raw)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                """,
                [
                    .text(batch.documentSHA256), .text(batch.client), .integer(nowMs), .int(batch.epcisEvents),
                    .int(stored), .blob(batch.raw),
                ])
            importID = db.lastInsertRowID
        }
        return .release(.stored(events: outcomes, importID: importID, voided: voided))
    }

    /// Voids the stored MES events of each EPCIS event the document declares in error (once: one
    /// corrected before stays as it is); the number voided now.
    private func declare(_ batch: EPCISImportBatch) throws(SQLiteError) -> Int {
        guard !batch.declarations.isEmpty else { return 0 }
        let corrections = CorrectionRecorder(db: db, nowMs: nowMs, decode: batch.decode)
        // `<base>#` <= id < `<base>$`: the MES events of one EPCIS event ('$' follows '#').
        let ofBase = try db.cachedStatement(
            """
            SELECT e.sequence, e.event_id, e.kind, e.raw FROM events e
            WHERE e.event_id >= ?1 || '#' AND e.event_id < ?1 || '$'
              AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.sequence = e.sequence)
            ORDER BY e.sequence
            """)
        var voided = 0
        for declaration in batch.declarations {
            var found: [(sequence: Int64, eventID: String, kind: String, raw: [UInt8])] = []
            try ofBase.query([.text(declaration.baseID)]) {
                found.append(($0.int64(at: 0), $0.string(at: 1), $0.string(at: 2), $0.blob(at: 3)))
            }
            var corrective: [(sequence: Int64, kind: String)] = []
            for base in declaration.correctiveBaseIDs where base != declaration.baseID {
                try ofBase.query([.text(base)]) { corrective.append(($0.int64(at: 0), $0.string(at: 2))) }
            }
            for event in found {
                // The corrective event of the same kind not yet taken by another correction (one
                // recorded just before, in this transaction, included).
                var replacement: Int64?
                for candidate in corrective where candidate.kind == event.kind {
                    let used = try db.scalar(
                        "SELECT count(*) FROM corrections WHERE replacement_sequence = ?1",
                        [.integer(candidate.sequence)])
                    if used == .integer(0) {
                        replacement = candidate.sequence
                        break
                    }
                }
                _ = try corrections.apply(
                    sequence: event.sequence, eventID: event.eventID, raw: event.raw,
                    replacementSequence: replacement, reason: declaration.reason, by: batch.client)
                voided += 1
            }
        }
        return voided
    }
}
