import MESDomain
import SQLite

/// A node row as a walk sees it.
struct WalkNode {
    var id: Int64
    var kind: String
    var ref: TraceNodeRef
    var status: String
    var depth: Int
    /// The event where the node first appeared (`nodes.first_sequence`): its plant is the node's.
    var firstSequence: Int64
}

/// An edge row as a walk sees it; `from`/`to` are node ids in the graph's direction ("went into"),
/// `fromIndex`/`toIndex` their positions in `Walk.nodes`.
struct WalkEdge {
    var kind: String
    var from: Int64
    var to: Int64
    var fromIndex: Int
    var toIndex: Int
    var qty: Quantity?
    var workOrder: String
    var sequence: Int64
    var endedSequence: Int64?
}

/// Breadth-first walk over the genealogy edges from one node, on any connection (a pooled reader
/// for traces, the writer's connection for holds). Each visited node costs one index range scan
/// of `edges_forward` (covering: no edge row is read) or `edges_by_to` (plus the edge row), and
/// each node reached for the first time one primary-key lookup of its row, so the cost follows the
/// size of the answer, not of the store. An edge to a node already reached reads no node row (a
/// join per edge read it for every edge: twice the lookups on a recall). A visited set makes it
/// safe against cycles.
struct TraceWalker {
    let db: SQLiteConnection

    /// The walk's answer: nodes in BFS order (the start first, depth 0), traversed edges between them.
    struct Walk {
        var nodes: [WalkNode] = []
        var edges: [WalkEdge] = []
        var truncated = false
        /// The position in `nodes` of every node id visited.
        var positions: [Int64: Int] = [:]
    }

    static let nodeColumns = "n.id, n.kind, n.product, n.lot, n.serial, n.container, n.name, n.status, n.first_sequence"

    /// The node a reference names, or nil when the store never saw it.
    func node(_ ref: LotRef) throws(SQLiteError) -> WalkNode? {
        let (condition, values): (String, [SQLiteValue]) =
            switch ref.kind {
            case .serial:
                ("n.kind = 'serial' AND n.product = ?1 AND n.serial = ?2", [.text(ref.product), .text(ref.serial)])
            case .container: ("n.kind = 'container' AND n.container = ?1", [.text(ref.container)])
            case .lot: ("n.kind = 'lot' AND n.product = ?1 AND n.lot = ?2", [.text(ref.product), .text(ref.lot)])
            case .untracked, .incomplete: ("0", [])
            }
        return try db.cachedStatement("SELECT \(Self.nodeColumns) FROM nodes n WHERE \(condition)").first(values) {
            Self.walkNode($0, at: 0, depth: 0)
        }
    }

    /// The node with row id `id`, or nil.
    func node(id: Int64) throws(SQLiteError) -> WalkNode? {
        try db.cachedStatement("SELECT \(Self.nodeColumns) FROM nodes n WHERE n.id = ?1")
            .first(id) { Self.walkNode($0, at: 0, depth: 0) }
    }

    /// The node of a production order, or nil.
    func order(_ name: String) throws(SQLiteError) -> WalkNode? {
        try db.cachedStatement("SELECT \(Self.nodeColumns) FROM nodes n WHERE n.kind = 'order' AND n.name = ?1")
            .first([.text(name)]) { Self.walkNode($0, at: 0, depth: 0) }
    }

    /// Walks from `start`. `maxDepth`/`maxNodes` of 0 mean no limit. With `openContainmentOnly`,
    /// containment edges that were ended (unpacked) are not followed (holds reach only what is in
    /// a container now; traces follow every containment, past ones included).
    func walk(
        from start: WalkNode, direction: TraceDirection, maxDepth: Int = 0, maxNodes: Int = 0,
        openContainmentOnly: Bool = false
    ) throws(SQLiteError) -> Walk {
        let forward = direction != .backward
        let (near, far) = forward ? ("from_node", "to_node") : ("to_node", "from_node")
        let neighbours = try db.cachedStatement(
            """
            SELECT kind, from_node, to_node, qty, uom, work_order, sequence, ended_sequence, \(far)
            FROM edges WHERE \(near) = ?1
            """)
        let nodeRow = try db.cachedStatement("SELECT \(Self.nodeColumns) FROM nodes n WHERE n.id = ?1")
        var walk = Walk()
        walk.positions[start.id] = 0
        var first = start
        first.depth = 0
        walk.nodes.append(first)
        var cursor = 0
        var atLimit: [Int64] = []  // nodes at max_depth: not expanded, checked for more afterwards
        scan: while cursor < walk.nodes.count {
            let here = cursor
            let (currentID, depth) = (walk.nodes[here].id, walk.nodes[here].depth)
            cursor += 1
            if maxDepth > 0 && depth >= maxDepth {
                atLimit.append(currentID)
                continue
            }
            var cut = false
            try neighbours.query(currentID) { row throws(SQLiteError) in
                guard !cut else { return }
                let ended: Int64? = row.isNull(at: 7) ? nil : row.int64(at: 7)
                let kind = row.string(at: 0)
                if openContainmentOnly && ended != nil && kind == "containment" { return }
                let otherID = row.int64(at: 8)
                let there: Int
                if let known = walk.positions[otherID] {
                    there = known
                } else {
                    if maxNodes > 0 && walk.nodes.count >= maxNodes {
                        walk.truncated = true
                        cut = true
                        return
                    }
                    // An edge always names an existing node (a foreign key); nothing to add otherwise.
                    guard let node = try nodeRow.first(otherID, { Self.walkNode($0, at: 0, depth: depth + 1) })
                    else { return }
                    there = walk.nodes.count
                    walk.positions[otherID] = there
                    walk.nodes.append(node)
                }
                walk.edges.append(
                    WalkEdge(
                        kind: kind, from: row.int64(at: 1), to: row.int64(at: 2),
                        fromIndex: forward ? here : there, toIndex: forward ? there : here,
                        qty: row.isNull(at: 3) ? nil : Quantity(value: row.double(at: 3), uom: row.string(at: 4)),
                        workOrder: row.string(at: 5), sequence: row.int64(at: 6), endedSequence: ended))
            }
            if cut { break scan }
        }
        // The depth limit cut the walk short if a node at the limit leads somewhere not visited.
        for id in atLimit where !walk.truncated {
            try neighbours.query(id) { row throws(SQLiteError) in
                let open = !openContainmentOnly || row.string(at: 0) != "containment" || row.isNull(at: 7)
                if open && walk.positions[row.int64(at: 8)] == nil { walk.truncated = true }
            }
        }
        return walk
    }

    /// Reads `nodeColumns` (`n.id, n.kind, n.product, n.lot, n.serial, n.container, n.name, n.status,
    /// n.first_sequence`) from `at`.
    static func walkNode(_ row: SQLiteStatement, at i: Int, depth: Int) -> WalkNode {
        let kind = row.string(at: i + 1)
        let ref: TraceNodeRef
        switch kind {
        case "order": ref = TraceNodeRef(lot: nil, workOrder: row.string(at: i + 6))
        case "container": ref = TraceNodeRef(lot: LotRef(container: row.string(at: i + 5)))
        case "serial":
            ref = TraceNodeRef(
                lot: LotRef(product: row.string(at: i + 2), lot: row.string(at: i + 3), serial: row.string(at: i + 4)))
        default: ref = TraceNodeRef(lot: LotRef(product: row.string(at: i + 2), lot: row.string(at: i + 3)))
        }
        return WalkNode(
            id: row.int64(at: i), kind: kind, ref: ref, status: row.string(at: i + 7), depth: depth,
            firstSequence: row.int64(at: i + 8))
    }
}
