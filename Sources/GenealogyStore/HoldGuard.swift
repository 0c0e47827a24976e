import MESDomain
import SQLite

/// Refuses a Shipped event for a held item: the lot itself, or a container that holds a held item
/// (at any depth of nesting, through open containment). Writer thread only, inside the event's savepoint.
///
/// Most shipments find no held item at all in the store (`nodes_held`, version 19) and cost one
/// index probe. Until version 19 a container's shipment walked everything upstream of it (every
/// edge kind backward, only the open containment edges counting), about a tenth of the writer's
/// time with the plant mix of bench/plantgen.
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
        // The held items, through the partial index `nodes_held` (version 19): usually none, and
        // then nothing can be refused. Read up to one more than the forward check takes on.
        var heldIDs: [Int64] = []
        try db.cachedStatement("SELECT id FROM nodes WHERE status = 'held' ORDER BY id LIMIT ?1")
            .query([.int(Self.forwardCheckLimit + 1)]) { heldIDs.append($0.int64(at: 0)) }
        guard !heldIDs.isEmpty else { return nil }
        let walker = TraceWalker(db: db)
        guard let node = try walker.node(shipped.lot) else { return nil }
        var held: WalkNode? = node.status == "held" ? node : nil
        if held == nil && node.kind == "container" {
            let inside =
                heldIDs.count <= Self.forwardCheckLimit
                ? try heldItem(of: heldIDs, inside: node.id) : try heldItem(inside: node.id)
            if let inside { held = try walker.node(id: inside) }
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

    /// Up to this many held items, a container's shipment follows each of them up through open
    /// containment (a few index probes each); with more, it walks down through what the container
    /// holds.
    static let forwardCheckLimit = 64

    /// The first of `held` (ids in ascending order) that `container` holds now, at any depth of open
    /// containment: each is followed up through the containers it is packed in.
    private func heldItem(of held: [Int64], inside container: Int64) throws(SQLiteError) -> Int64? {
        let reaches = try db.cachedStatement(
            """
            WITH RECURSIVE outer_container(id) AS (
                SELECT ?1
                UNION
                SELECT e.to_node FROM edges e JOIN outer_container o ON e.from_node = o.id
                WHERE e.kind = 'containment' AND e.ended_sequence IS NULL
            )
            SELECT 1 FROM outer_container WHERE id = ?2 LIMIT 1
            """)
        for item in held where item != container {
            if try reaches.first([.integer(item), .integer(container)], { _ in true }) != nil { return item }
        }
        return nil
    }

    /// A held item that `container` holds now, at any depth of open containment, found by walking
    /// down through its contents.
    private func heldItem(inside container: Int64) throws(SQLiteError) -> Int64? {
        try db.cachedStatement(
            """
            WITH RECURSIVE content(id) AS (
                SELECT ?1
                UNION
                SELECT e.from_node FROM edges e JOIN content c ON e.to_node = c.id
                WHERE e.kind = 'containment' AND e.ended_sequence IS NULL
            )
            SELECT n.id FROM content c JOIN nodes n ON n.id = c.id
            WHERE c.id != ?1 AND n.status = 'held' ORDER BY n.id LIMIT 1
            """
        ).first([.integer(container)]) { $0.int64(at: 0) }
    }
}
