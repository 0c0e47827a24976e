import MESDomain
import SQLite

/// The row-level writes of the genealogy: nodes, edges, event links, exceptions, outbox rows.
///
/// Writer thread only, inside the batch's transaction. Every statement comes from the connection's
/// statement cache, so it is prepared once and reused across batches.
struct GenealogyRows {
    /// How a node came to be; `unknown` until an event that creates it arrives.
    enum Origin: String {
        case received, produced, split, packed, order, unknown
    }

    let db: SQLiteConnection
    /// The batch's wall-clock time, Unix ms.
    let nowMs: Int64
    /// What the write connection carries (`db.attachment`), looked up once per batch, not per row.
    let mirrors: WriterMirrors?

    init(db: SQLiteConnection, nowMs: Int64) {
        self.db = db
        self.nowMs = nowMs
        self.mirrors = WriterMirrors.on(db)
    }

    // MARK: Nodes

    /// The node for a tracked reference, created if missing. An existing `unknown` node takes
    /// `origin` when that is a creating origin. With `flagUnknown`, naming a node nobody created is
    /// recorded as an `unknown_lot` exception. Links the node to the event under `role`; nil when
    /// an edge the event makes links them (`EventLinks`: a consumption's component and output).
    func node(
        _ ref: LotRef, origin: Origin, flagUnknown: Bool, role: String?, sequence: Int64,
        field: @autoclosure () -> String
    ) throws(SQLiteError) -> Int64 {
        let id: Int64
        let unknown: Bool
        let cache = mirrors?.nodes
        let key = NodeCache.key(ref)
        var cached = cache?[key]
        if cached == nil { cached = try lookup(ref) }
        if let found = cached {
            id = found.id
            let wasUnknown = found.origin == Origin.unknown.rawValue
            unknown = wasUnknown && origin == .unknown
            // Write only when something changes: most events name nodes that exist already.
            let fillSerialLot = ref.kind == .serial && found.lot.isEmpty && !ref.lot.isEmpty
            var now = found
            if (wasUnknown && origin != .unknown) || fillSerialLot {
                try db.run(
                    """
                    UPDATE nodes SET origin = CASE WHEN origin = 'unknown' THEN ?2 ELSE origin END,
                      lot = CASE WHEN lot = '' THEN ?3 ELSE lot END
                    WHERE id = ?1
                    """, [.integer(id), .text(origin.rawValue), .text(ref.lot)])
                if wasUnknown { now.origin = origin.rawValue }
                if now.lot.isEmpty { now.lot = ref.lot }
            }
            cache?.remember(key, now)
        } else {
            id = try create(ref, origin: origin, sequence: sequence)
            unknown = origin == .unknown
            cache?.remember(key, NodeCache.Entry(id: id, origin: origin.rawValue, lot: ref.lot))
        }
        if unknown && flagUnknown {
            try exception(
                .unknownLot, sequence: sequence, node: id, lot: ref,
                detail: "\(field()) names \(ref), which no receipt, production, split or packing created")
        }
        if let role { try link(node: id, sequence: sequence, role: role) }
        return id
    }

    /// The node of a production order, created if missing, linked to the event as "order".
    func order(_ name: String, sequence: Int64) throws(SQLiteError) -> Int64 {
        let cache = mirrors?.nodes
        let key = NodeCache.order(name)
        let id: Int64
        var cached = cache?[key]?.id
        if cached == nil { cached = try lookupOrder(name) }
        if let found = cached {
            id = found
        } else {
            try db.run(
                """
                INSERT INTO nodes (kind, name, origin, first_sequence) VALUES ('order', ?1, 'order', ?2)
                """, [.text(name), .integer(sequence)])
            id = db.lastInsertRowID
        }
        cache?.remember(key, NodeCache.Entry(id: id, origin: Origin.order.rawValue, lot: ""))
        try link(node: id, sequence: sequence, role: "order")
        return id
    }

    /// The node of the production order `name` (as `order` names it), without the writer's cache.
    func lookupOrder(_ name: String) throws(SQLiteError) -> Int64? {
        try db.cachedStatement("SELECT id FROM nodes WHERE kind = 'order' AND name = ?1").first([.text(name)]) {
            $0.int64(at: 0)
        }
    }

    /// The node the writer made or found for `ref` (as `node` names it), without the writer's cache.
    func lookup(_ ref: LotRef) throws(SQLiteError) -> NodeCache.Entry? {
        let (sql, values): (String, [SQLiteValue]) =
            switch ref.kind {
            case .serial:
                (
                    "SELECT id, origin, lot FROM nodes WHERE kind = 'serial' AND product = ?1 AND serial = ?2",
                    [.text(ref.product), .text(ref.serial)]
                )
            case .container:
                (
                    "SELECT id, origin, lot FROM nodes WHERE kind = 'container' AND container = ?1",
                    [.text(ref.container)]
                )
            default:
                (
                    "SELECT id, origin, lot FROM nodes WHERE kind = 'lot' AND product = ?1 AND lot = ?2",
                    [.text(ref.product), .text(ref.lot)]
                )
            }
        return try db.cachedStatement(sql).first(values) {
            NodeCache.Entry(id: $0.int64(at: 0), origin: $0.string(at: 1), lot: $0.string(at: 2))
        }
    }

    private func create(_ ref: LotRef, origin: Origin, sequence: Int64) throws(SQLiteError) -> Int64 {
        let kind =
            switch ref.kind {
            case .serial: "serial"
            case .container: "container"
            default: "lot"
            }
        try db.run(
            """
            INSERT INTO nodes (kind, product, lot, serial, container, origin, first_sequence)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            """,
            [
                .text(kind), .text(ref.product), .text(ref.lot), .text(ref.serial), .text(ref.container),
                .text(origin.rawValue), .integer(sequence),
            ])
        return db.lastInsertRowID
    }

    func link(node: Int64, sequence: Int64, role: String) throws(SQLiteError) {
        try db.run(
            "INSERT OR IGNORE INTO event_nodes (node_id, sequence, role) VALUES (?1, ?2, ?3)",
            [.integer(node), .integer(sequence), .text(role)])
    }

    func setStatus(_ node: Int64, _ status: String) throws(SQLiteError) {
        try db.run("UPDATE nodes SET status = ?2 WHERE id = ?1 AND status != 'held'", [.integer(node), .text(status)])
    }

    func setQuality(_ node: Int64, _ outcome: String) throws(SQLiteError) {
        try db.run("UPDATE nodes SET quality = ?2 WHERE id = ?1", [.integer(node), .text(outcome)])
    }

    func setLocation(_ node: Int64, _ location: String) throws(SQLiteError) {
        guard !location.isEmpty else { return }
        try db.run("UPDATE nodes SET location = ?2 WHERE id = ?1", [.integer(node), .text(location)])
    }

    // MARK: Edges

    /// One "went into" edge made by the event `sequence`. Containment is not doubled: packing an
    /// item into the container it is already in adds nothing.
    func edge(
        _ kind: String, from: Int64, to: Int64, qty: Quantity?, workOrder: String, sequence: Int64
    ) throws(SQLiteError) {
        // Two texts, not one built per call: the statement cache finds a literal by its storage.
        let sql =
            kind == "containment"
            ? """
            INSERT OR IGNORE INTO edges (kind, from_node, to_node, qty, uom, work_order, sequence)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            """
            : """
            INSERT INTO edges (kind, from_node, to_node, qty, uom, work_order, sequence)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            """
        try db.run(
            sql,
            [
                .text(kind), .integer(from), .integer(to), .optionalReal(qty?.value), .text(qty?.uom ?? ""),
                .text(workOrder), .integer(sequence),
            ])
    }

    /// The order → output edge, one per pair: made by whichever event names the output first;
    /// later production reports add their quantity. The pair is found in `edges_forward`; the
    /// store's one writer keeps it unique (migration 17).
    func orderOutput(order: Int64, output: Int64, qty: Quantity?, workOrder: String, sequence: Int64)
        throws(SQLiteError)
    {
        let cache = mirrors?.nodes
        if let qty {
            // A report's quantity goes to the pair's edge when there is one.
            try db.run(
                """
                UPDATE edges SET qty = coalesce(qty, 0) + ?3, uom = CASE WHEN uom = '' THEN ?4 ELSE uom END
                WHERE from_node = ?1 AND to_node = ?2 AND kind = 'order_output'
                """, [.integer(order), .integer(output), .real(qty.value), .text(qty.uom)])
            if db.changes > 0 {
                cache?.rememberOrderOutput(order: order, output: output)
                return
            }
        } else {
            // Without a quantity an existing pair changes nothing (a consumption into an output
            // the order already made): the writer's cache knows most of them.
            if cache?.hasOrderOutput(order: order, output: output) == true { return }
            let found = try db.cachedStatement(
                "SELECT 1 FROM edges WHERE from_node = ?1 AND to_node = ?2 AND kind = 'order_output'"
            ).first([.integer(order), .integer(output)]) { _ in true }
            if found != nil {
                cache?.rememberOrderOutput(order: order, output: output)
                return
            }
        }
        try db.run(
            """
            INSERT INTO edges (kind, from_node, to_node, qty, uom, work_order, sequence)
            VALUES ('order_output', ?1, ?2, ?3, ?4, ?5, ?6)
            """,
            [
                .integer(order), .integer(output), .optionalReal(qty?.value), .text(qty?.uom ?? ""),
                .text(workOrder), .integer(sequence),
            ])
        cache?.rememberOrderOutput(order: order, output: output)
    }

    /// Ends the open containment of `item` in `container`; false when it was not packed there.
    func unpack(item: Int64, container: Int64, sequence: Int64) throws(SQLiteError) -> Bool {
        try db.run(
            """
            UPDATE edges SET ended_sequence = ?3
            WHERE kind = 'containment' AND from_node = ?1 AND to_node = ?2 AND ended_sequence IS NULL
            """, [.integer(item), .integer(container), .integer(sequence)])
        return db.changes > 0
    }

    // MARK: Side tables

    /// An exception the event at `sequence` raises about `node` (see `ExceptionBook.raise`).
    func exception(_ kind: ExceptionKind, sequence: Int64, node: Int64?, lot: LotRef?, detail: String)
        throws(SQLiteError)
    {
        try ExceptionBook(db: db, nowMs: nowMs).raise(kind, sequence: sequence, node: node, lot: lot, detail: detail)
    }

    func outbox(sequence: Int64, kind: String, documentKey: String, latencyClass: String) throws(SQLiteError) {
        try db.run(
            """
            INSERT INTO outbox (sequence, kind, document_key, latency_class, next_attempt_at_ms, created_at_ms,
              updated_at_ms)
            VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5)
            """, [.integer(sequence), .text(kind), .text(documentKey), .text(latencyClass), .integer(nowMs)])
        // Counted in status_counts by the writer before COMMIT (migration 15), else here.
        if let tally = mirrors?.outboxTally { try tally.added(on: db) } else { try OutboxTally.count(1, on: db) }
    }
}
