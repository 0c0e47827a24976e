import Foundation
import MESDomain
import SQLite

/// The exceptions an event raises or ends by itself (issue 14, part 4): a downtime without an end
/// raises `machine_stopped`, the report of its end closes it; a failed quality check raises
/// `quality_alert`, a later pass of the same check on the same lot closes it.
extension EventRecorder {
    /// Writer thread, in the event's transaction.
    func stoppage(_ b: DowntimeReported, of event: Event, sequence: Int64, posted: Bool) throws(SQLiteError) {
        let book = ExceptionBook(db: rows.db, nowMs: rows.nowMs)
        let place = event.workCenter.isEmpty ? "order \(event.workOrder)" : event.workCenter
        // One stop is one work center (or order) and its start: reported again with its end, it ends.
        let key = "\(place)@\(b.startedAtMs)"
        if b.endedAtMs != 0 {
            try book.closeOpen(
                .machineStopped, matchKey: key,
                reason: "downtime ended at \(Self.time(b.endedAtMs)) (event \(event.eventID))")
            return
        }
        guard try !book.isOpen(.machineStopped, matchKey: key) else { return }
        let reason = b.reason.isEmpty ? "" : ": \(b.reason)"
        try book.raise(
            .machineStopped, sequence: sequence, detail: "\(place) stopped since \(Self.time(b.startedAtMs))\(reason)",
            matchKey: key, postsToOdoo: posted)
    }

    /// Writer thread, in the event's transaction.
    func qualityAlert(_ b: QualityResult, node: Int64, of event: Event, sequence: Int64, posted: Bool)
        throws(SQLiteError)
    {
        let book = ExceptionBook(db: rows.db, nowMs: rows.nowMs)
        let key = "\(b.lot)#\(b.check)"
        switch b.outcome {
        case .fail:
            let outside = b.measurements.filter { $0.lower != $0.upper && ($0.value < $0.lower || $0.value > $0.upper) }
            let measured = outside.map { "\($0.name) \($0.value)\($0.unit) outside \($0.lower)–\($0.upper)" }
            let detail =
                "check \(b.check) failed on \(b.lot)"
                + (measured.isEmpty ? "" : ": " + measured.joined(separator: ", "))
            try book.raise(
                .qualityAlert, sequence: sequence, node: node, lot: b.lot, detail: detail, matchKey: key,
                postsToOdoo: posted)
        case .pass:
            try book.closeOpen(.qualityAlert, matchKey: key, reason: "check \(b.check) passed (event \(event.eventID))")
        case .warn, .unspecified:
            break
        }
    }

    /// A Unix ms time as people read it in a detail (UTC, ISO 8601).
    static func time(_ ms: Int64) -> String {
        Date(timeIntervalSince1970: Double(ms) / 1000).ISO8601Format()
    }
}
