import MESDomain
import SQLite

/// What became of a hold or a release.
public enum HoldOutcome: Sendable, Hashable {
    /// Done: the lots, serials and containers the hold covers (or the release freed).
    case changed([LotRef])
    /// The store never saw the lot.
    case notFound
    /// A release for a lot with no open hold placed on it.
    case noOpenHold
    /// Not done (store closed, queue full, or the transaction failed).
    case failed(GenealogyStoreError)
}

/// Places and releases holds on the write connection. Writer thread only, inside a transaction.
///
/// A hold covers its root and, with `propagate`, every lot, serial and container reached forward
/// from it (through orders, splits and open containment); each covered item is set `held` and
/// listed in `hold_items` with its prior status. A release ends the holds placed on its lot and
/// gives every item they covered that no other open hold covers its status back, derived from the
/// item's events (shipped or scrapped, the later one, else active), so a Shipped or Scrapped stored
/// while the item was held is not lost. What an event makes from a covered item later is covered
/// too (`extend`).
struct HoldBook {
    let db: SQLiteConnection
    let nowMs: Int64
    /// Where `hold_placed` / `hold_released` entries go, in the same transaction (see `AuditChain.on`).
    private var audit: AuditChain? { AuditChain.on(db) }

    func place(_ request: HoldRequest, by who: String) throws(SQLiteError) -> HoldOutcome {
        guard let (_, held) = try placeHold(request, by: who) else { return .notFound }
        return .changed(held)
    }

    /// Places the hold: its id and the lots it holds (nil: the store never saw the lot).
    private func placeHold(_ request: HoldRequest, by who: String) throws(SQLiteError) -> (Int64, [LotRef])? {
        let walker = TraceWalker(db: db)
        guard let root = try walker.node(request.lot) else { return nil }
        try db.run(
            """
            INSERT INTO holds (node_id, reason, placed_by, propagate, placed_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
            """,
            [
                .integer(root.id), .text(request.reason), .text(who), .integer(request.propagate ? 1 : 0),
                .integer(nowMs),
            ])
        let hold = db.lastInsertRowID
        let covered =
            request.propagate
            ? try walker.walk(from: root, direction: .forward, openContainmentOnly: true).nodes : [root]
        var held: [LotRef] = []
        for node in covered where node.kind != "order" {
            guard let lot = node.ref.lot else { continue }
            try cover(node.id, status: node.status, by: hold)
            held.append(lot)
        }
        try queueForOdoo(hold: hold, kind: "hold")
        try audit?.recordChanged(
            .holdPlaced(hold: hold), atMs: nowMs, actor: who, action: AuditAction.holdPlaced,
            label: "\(request.lot)", reason: request.reason,
            detail: "\(held.count) item(s) held\(request.propagate ? ", propagated forward" : "")", on: db)
        return (hold, held)
    }

    /// Extends open propagating `holds` (those covering the node an event's new edge starts from)
    /// to the edge's end `node` and everything reached forward from it, as `place` would have had
    /// the edge existed then: a lot made from a held lot after the hold was placed is held too,
    /// under the same hold, so it cannot ship and its release frees it. `held` learns every node
    /// covered (orders included).
    func extend(_ holds: [Int64], to node: Int64, held: HeldNodes) throws(SQLiteError) {
        let missing = holds.filter { !held.covers(node, by: $0) }
        guard !missing.isEmpty else { return }
        let walker = TraceWalker(db: db)
        guard let start = try walker.node(id: node) else { return }
        let reached = try walker.walk(from: start, direction: .forward, openContainmentOnly: true).nodes
        for item in reached {
            var status = item.status
            for hold in missing where !held.covers(item.id, by: hold) {
                held.add(item.id, hold: hold)
                guard item.kind != "order", item.ref.lot != nil else { continue }
                try cover(item.id, status: status, by: hold)
                status = "held"
            }
        }
    }

    /// Lists `node` (whose status is `status`) among the items of `hold` and sets it `held`.
    private func cover(_ node: Int64, status: String, by hold: Int64) throws(SQLiteError) {
        try db.run(
            "INSERT OR IGNORE INTO hold_items (hold_id, node_id, prior_status) VALUES (?1, ?2, ?3)",
            [.integer(hold), .integer(node), .text(status)])
        if status != "held" {
            try db.run("UPDATE nodes SET status = 'held' WHERE id = ?1", [.integer(node)])
        }
    }

    func release(_ request: HoldRequest, by who: String) throws(SQLiteError) -> HoldOutcome {
        guard let root = try TraceWalker(db: db).node(request.lot) else { return .notFound }
        var holds: [Int64] = []
        try db.cachedStatement("SELECT id FROM holds WHERE node_id = ?1 AND released_at_ms IS NULL ORDER BY id")
            .query([.integer(root.id)]) { holds.append($0.int64(at: 0)) }
        guard !holds.isEmpty else { return .noOpenHold }
        return .changed(try release(holds, label: "\(request.lot)", reason: request.reason, by: who))
    }

    /// Places the holds an enterprise hold (the hub's `hubHold`) asks of this plant: one on each of
    /// `roots` the store knows, propagating, recorded in `enterprise_holds`. Once per hub hold: a
    /// second delivery finds its holds and changes nothing.
    func placeEnterprise(hubHold: Int64, roots: [LotRef], reason: String, by who: String) throws(SQLiteError)
        -> HoldOutcome
    {
        let placed =
            try db.cachedStatement("SELECT 1 FROM enterprise_holds WHERE hub_hold_id = ?1 LIMIT 1").first([
                .integer(hubHold)
            ]) { _ in true } ?? false
        if placed { return .changed([]) }
        var held: [LotRef] = []
        var known = false
        for root in roots {
            guard let (hold, lots) = try placeHold(HoldRequest(lot: root, reason: reason), by: who) else { continue }
            known = true
            try db.run(
                "INSERT INTO enterprise_holds (hub_hold_id, hold_id) VALUES (?1, ?2)",
                [.integer(hubHold), .integer(hold)])
            held += lots
        }
        return known ? .changed(held) : .notFound
    }

    /// Releases the holds the enterprise hold `hubHold` placed here (and no other hold).
    func releaseEnterprise(hubHold: Int64, reason: String, by who: String) throws(SQLiteError) -> HoldOutcome {
        var holds: [Int64] = []
        try db.cachedStatement(
            """
            SELECT h.id FROM enterprise_holds e JOIN holds h ON h.id = e.hold_id
            WHERE e.hub_hold_id = ?1 AND h.released_at_ms IS NULL ORDER BY h.id
            """
        ).query([.integer(hubHold)]) { holds.append($0.int64(at: 0)) }
        guard !holds.isEmpty else { return .noOpenHold }
        return .changed(try release(holds, label: nil, reason: reason, by: who))
    }

    /// Ends `holds` and gives every item they covered that no other open hold covers its status
    /// back; the freed lots.
    /// `label` names the released lot in the audit (nil: each hold's own lot).
    private func release(_ holds: [Int64], label: String?, reason: String, by who: String) throws(SQLiteError)
        -> [LotRef]
    {
        var freed: [LotRef] = []
        var seen: Set<Int64> = []
        for hold in holds {
            try db.run(
                "UPDATE holds SET released_at_ms = ?2, released_by = ?3, release_reason = ?4 WHERE id = ?1",
                [.integer(hold), .integer(nowMs), .text(who), .text(reason)])
            try queueForOdoo(hold: hold, kind: "release")
            var items: [WalkNode] = []
            try db.cachedStatement(
                """
                SELECT \(TraceWalker.nodeColumns) FROM hold_items h JOIN nodes n ON n.id = h.node_id
                WHERE h.hold_id = ?1 ORDER BY n.id
                """
            ).query([.integer(hold)]) { items.append(TraceWalker.walkNode($0, at: 0, depth: 0)) }
            let freedBefore = freed.count
            for item in items where seen.insert(item.id).inserted {
                guard try !stillHeld(item.id) else { continue }
                try db.run(
                    "UPDATE nodes SET status = ?2 WHERE id = ?1", [.integer(item.id), .text(try status(item.id))])
                if let lot = item.ref.lot { freed.append(lot) }
            }
            var lotLabel = label ?? ""
            if label == nil { lotLabel = try holdLabel(hold) }
            try audit?.recordChanged(
                .holdReleased(hold: hold), atMs: nowMs, actor: who, action: AuditAction.holdReleased,
                label: lotLabel, reason: reason, detail: "\(freed.count - freedBefore) item(s) freed", on: db)
        }
        return freed
    }

    /// The lot a hold was placed on, as the audit names it.
    private func holdLabel(_ hold: Int64) throws(SQLiteError) -> String {
        try db.cachedStatement(
            "SELECT n.product, n.lot, n.serial, n.container FROM holds h JOIN nodes n ON n.id = h.node_id WHERE h.id = ?1"
        ).first([.integer(hold)]) {
            let ref = LotRef(
                product: $0.string(at: 0), lot: $0.string(at: 1), serial: $0.string(at: 2), container: $0.string(at: 3))
            return "\(ref)"
        } ?? "hold \(hold)"
    }

    /// The outbox row that tells Odoo of a placement or release (`immediate`: a held lot must stop
    /// in Odoo too), written in the hold's transaction like an event's row.
    private func queueForOdoo(hold: Int64, kind: String) throws(SQLiteError) {
        // The hub posts nothing to Odoo: each plant posts what its own store holds. (A hub has
        // stored a plant event before it can hold anything: it knows only what plants sent.)
        let isHub = try db.cachedStatement("SELECT 1 FROM plant_events LIMIT 1").first { _ in true } ?? false
        guard !isHub else { return }
        try db.run(
            """
            INSERT INTO outbox (hold_id, kind, document_key, latency_class, next_attempt_at_ms, created_at_ms,
              updated_at_ms)
            VALUES (?1, ?2, ?3, 'immediate', ?4, ?4, ?4)
            """, [.integer(hold), .text(kind), .text("hold:\(hold)"), .integer(nowMs)])
        // Counted here, in the same transaction (no trigger counts outbox rows since version 19).
        try OutboxTally.count(1, on: db)
    }

    /// Whether another open hold covers the node.
    private func stillHeld(_ node: Int64) throws(SQLiteError) -> Bool {
        try db.cachedStatement(
            """
            SELECT 1 FROM hold_items i JOIN holds h ON h.id = i.hold_id
            WHERE i.node_id = ?1 AND h.released_at_ms IS NULL LIMIT 1
            """
        ).first([.integer(node)]) { _ in true } ?? false
    }

    /// The status the node's events give it: its latest Shipped or Scrapped, else active.
    private func status(_ node: Int64) throws(SQLiteError) -> String {
        try db.cachedStatement(
            """
            SELECT e.kind FROM event_nodes en JOIN events e ON e.sequence = en.sequence
            WHERE en.node_id = ?1 AND en.role = 'lot' AND e.kind IN ('shipped', 'scrapped')
            ORDER BY en.sequence DESC LIMIT 1
            """
        ).first([.integer(node)]) { $0.string(at: 0) } ?? "active"
    }
}
