import MESDomain

/// Where an event goes in the outbox: which Odoo document it changes (the poster serializes and
/// coalesces by this key) and how soon it must be posted. Events Odoo is not told about have none.
struct OutboxRoute: Equatable {
    /// `work_order:<name>`, `work_center:<name>`, `lot:<product>/<lot>`, `serial:<product>/<serial>`,
    /// `container:<id>` or `event:<event_id>`.
    var documentKey: String
    /// `immediate` (downtime blocks a work center, a failed check holds a lot), `normal` (scrap),
    /// `batch` (production, consumption and operations: coalesced per work order).
    var latencyClass: String

    init?(event: Event, body: EventBody) {
        let order = event.workOrder.isEmpty ? nil : "work_order:\(event.workOrder)"
        let center = event.workCenter.isEmpty ? nil : "work_center:\(event.workCenter)"
        let fallback = "event:\(event.eventID)"
        switch body {
        case .produced, .consumed, .operation:
            documentKey = order ?? center ?? fallback
            latencyClass = "batch"
        case .scrapped:
            documentKey = order ?? fallback
            latencyClass = "normal"
        case .downtime:
            documentKey = center ?? order ?? fallback
            latencyClass = "immediate"
        case .quality(let b):
            documentKey = Self.key(b.lot) ?? fallback
            latencyClass = "immediate"
        case .received, .shipped, .packed, .moved:
            return nil
        }
    }

    private static func key(_ ref: LotRef) -> String? {
        switch ref.kind {
        case .lot: "lot:\(ref.product)/\(ref.lot)"
        case .serial: "serial:\(ref.product)/\(ref.serial)"
        case .container: "container:\(ref.container)"
        case .untracked, .incomplete: nil
        }
    }
}
