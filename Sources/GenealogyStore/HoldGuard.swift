import MESDomain
import SQLite

/// Refuses a Shipped event for a held item: the lot itself, or a container that holds a held item
/// (at any depth of nesting, through open containment). Writer thread only, inside the event's savepoint.
struct HoldGuard {
    let db: SQLiteConnection
    let nowMs: Int64

    /// Places a propagating hold on the lot of a QualityResult FAIL (when the store is configured
    /// to); true when it placed one.
    func holdIfFailed(_ request: IngestRequest) throws(SQLiteError) -> Bool {
        guard case .quality(let check) = request.event.body, check.outcome == .fail else { return false }
        let reason = "quality check \(check.check) failed (event \(request.event.eventID))"
        let outcome = try HoldBook(db: db, nowMs: nowMs).place(
            HoldRequest(lot: check.lot, reason: reason), by: request.client)
        return outcome != .notFound
    }

    /// The reason to refuse `request`, or nil to store it. A refusal is recorded in `refused_events`.
    func refusal(of request: IngestRequest) throws(SQLiteError) -> String? {
        guard case .shipped(let shipped) = request.event.body else { return nil }
        let walker = TraceWalker(db: db)
        guard let node = try walker.node(shipped.lot) else { return nil }
        var held: WalkNode? = node.status == "held" ? node : nil
        if held == nil && node.kind == "container" {
            let contents = try walker.walk(from: node, direction: .backward, openContainmentOnly: true)
            let inside = Set(contents.edges.filter { $0.kind == "containment" }.map(\.from))
            held = contents.nodes.first { inside.contains($0.id) && $0.status == "held" }
        }
        guard let held else { return nil }
        let detail =
            held.id == node.id
            ? "shipped.lot \(shipped.lot) is on quality hold"
            : "shipped.lot \(shipped.lot) contains \(held.ref), which is on quality hold"
        try db.run(
            """
            INSERT INTO refused_events (kind, event_id, node_id, detail, client, raw, created_at_ms)
            VALUES ('shipment_refused', ?1, ?2, ?3, ?4, ?5, ?6)
            """,
            [
                .text(request.event.eventID), .integer(held.id), .text(detail), .text(request.client),
                .blob(request.raw), .integer(nowMs),
            ])
        return detail
    }
}
