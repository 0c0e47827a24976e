import SQLite

/// The nodes that open propagating holds cover, with the holds covering each: production orders
/// included (an order that consumed a held lot makes held outputs). The writer looks here, without
/// a query, whenever an event makes an edge, so that a lot made from a held lot after the hold was
/// placed is held too (`HoldBook.extend`).
///
/// Writer thread only (owned by `IngestWriter`, not `Sendable`). Loaded from the store when stale:
/// at start, after every hold command or hold placed by a QualityResult, and after a rollback
/// (which may have undone rows this set had already taken in).
final class HeldNodes {
    private var holdsByNode: [Int64: [Int64]] = [:]
    /// True until loaded, and after anything that may have changed holds behind this set's back.
    private(set) var isStale = true

    /// No open propagating hold: nothing to check.
    var isEmpty: Bool { holdsByNode.isEmpty }

    /// The open propagating holds covering `node` (empty when none).
    func holds(on node: Int64) -> [Int64] { holdsByNode[node] ?? [] }

    func covers(_ node: Int64, by hold: Int64) -> Bool { holdsByNode[node]?.contains(hold) ?? false }

    func add(_ node: Int64, hold: Int64) {
        if !covers(node, by: hold) { holdsByNode[node, default: []].append(hold) }
    }

    func markStale() { isStale = true }

    /// Reads the set from the store: every item of an open propagating hold, and every order such
    /// an item went into.
    func reload(from db: SQLiteConnection) throws(SQLiteError) {
        var loaded: [Int64: [Int64]] = [:]
        try db.cachedStatement(
            """
            SELECT i.hold_id, i.node_id FROM holds h JOIN hold_items i ON i.hold_id = h.id
            WHERE h.released_at_ms IS NULL AND h.propagate = 1
            UNION
            SELECT i.hold_id, e.to_node FROM holds h JOIN hold_items i ON i.hold_id = h.id
              JOIN edges e ON e.from_node = i.node_id JOIN nodes n ON n.id = e.to_node
            WHERE h.released_at_ms IS NULL AND h.propagate = 1 AND n.kind = 'order'
            """
        ).query { loaded[$0.int64(at: 1), default: []].append($0.int64(at: 0)) }
        holdsByNode = loaded
        isStale = false
    }
}
