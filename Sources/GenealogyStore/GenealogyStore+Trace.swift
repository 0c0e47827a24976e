public import MESDomain
import SQLite

/// Traces and lot histories, on a pooled read-only connection on the caller's thread.
extension GenealogyStore {
    /// Walks the genealogy from `request.lot` (see `TraceWalker`); nil when the store never saw the
    /// lot. Backward traces list the supplier receipts of every node reached; forward traces list
    /// the shipments of every node reached, and of every container reached through a containment
    /// that was open when the container shipped ("shipping a pallet ships its contents").
    public func trace(_ request: TraceRequest) throws -> TraceResult? {
        try storeQuery { db throws(SQLiteError) in
            // One read transaction for the whole walk: one snapshot, one read lock.
            try db.readTransaction { () throws(SQLiteError) in try Self.trace(request, on: db) }
        }
    }

    /// Every stored event that names the lot (under any role), oldest first; nil for an unknown lot.
    public func lotHistory(_ lot: LotRef) throws -> [StoredEvent]? {
        try storeQuery { db throws(SQLiteError) -> [StoredEvent]? in
            try db.readTransaction { () throws(SQLiteError) -> [StoredEvent]? in
                guard let node = try TraceWalker(db: db).node(lot) else { return nil }
                let plants = try PlantNames.read(on: db)
                return try Self.historyRows(
                    of: node.id, after: 0, through: .max, maxBytes: .max, plants: plants, on: db
                ).events
            }
        }
    }

    /// The next events of the lot's history, oldest first, so that a long history can be sent as the
    /// reader takes it, a page at a time. Pages after the first pass `through` from the first: the
    /// answer is then the history as it stood at the first page, whatever was stored since. A page
    /// ends after the event that brings its `raw` bytes to `maxBytes` or more. Nil for an unknown lot.
    public func lotHistoryPage(_ lot: LotRef, after: Int64, through: Int64?, maxBytes: Int) throws -> LotHistoryPage? {
        try storeQuery { db throws(SQLiteError) -> LotHistoryPage? in
            try db.readTransaction { () throws(SQLiteError) -> LotHistoryPage? in
                guard let node = try TraceWalker(db: db).node(lot) else { return nil }
                let last: Int64
                if let through {
                    last = through
                } else {
                    var newest: Int64 = 0
                    try db.cachedStatement("SELECT coalesce(max(sequence), 0) FROM events").query {
                        newest = $0.int64(at: 0)
                    }
                    last = newest
                }
                let plants = try PlantNames.read(on: db)
                let (events, more) = try Self.historyRows(
                    of: node.id, after: after, through: last, maxBytes: maxBytes, plants: plants, on: db)
                return LotHistoryPage(events: events, through: last, isLast: !more)
            }
        }
    }

    /// The sequences of the node `?1`'s events with `?2` < sequence ≤ `?3`, each once, oldest first.
    static let historySQL = EventLinks.orderedSequences(of: "?1", range: "> ?2 AND sequence <= ?3")

    /// The event `?1` as a history lists it.
    static let historyEventSQL = """
        SELECT e.sequence, e.event_id, e.kind, e.client, e.recorded_at_ms, e.raw,
          \(PlantNames.column("e", hub: 2, identity: 3)),
          \(CorrectionMarks.columns)
        FROM events e
        \(CorrectionMarks.joins("e"))
        WHERE e.sequence = ?1
        """

    /// The node's events with `after` < sequence ≤ `through`, oldest first, until their `raw` bytes
    /// reach `maxBytes` (one event at least), each with its plant (`PlantNames`: the events row is
    /// read anyway); and whether the node has more, from one step past a full page. The sequences
    /// come in order from the links (`historySQL`), and each event is read by its key: nothing but
    /// integers is sorted, and a page reads only the events it returns.
    private static func historyRows(
        of node: Int64, after: Int64, through: Int64, maxBytes: Int, plants: PlantNames, on db: SQLiteConnection
    )
        throws(SQLiteError) -> (events: [StoredEvent], more: Bool)
    {
        let sequences = try db.cachedStatement(historySQL)
        try sequences.bind([.integer(node), .integer(after), .integer(through)])
        defer { sequences.reset() }
        let read = try db.cachedStatement(historyEventSQL)
        try read.bind([.integer(0)] + plants.arguments)  // the plants once; each event then binds ?1 only
        var events: [StoredEvent] = []
        var bytes = 0
        while try sequences.step() {
            if bytes >= maxBytes, !events.isEmpty { return (events, true) }
            let found = try read.first(sequences.int64(at: 0)) { row in
                var event = StoredEvent(
                    sequence: row.int64(at: 0), eventID: row.string(at: 1), kind: row.string(at: 2),
                    client: row.string(at: 3), recordedAtMs: row.int64(at: 4), raw: row.blob(at: 5),
                    plant: row.string(at: 6))
                CorrectionMarks.read(row, from: 7, into: &event)
                return event
            }
            guard let event = found else { continue }
            bytes += event.raw.count
            events.append(event)
        }
        return (events, false)
    }

    static func trace(_ request: TraceRequest, on db: SQLiteConnection) throws(SQLiteError) -> TraceResult? {
        let walker = TraceWalker(db: db)
        guard let start = try walker.node(request.lot) else { return nil }
        let direction: TraceDirection = request.direction == .backward ? .backward : .forward
        let walk = try walker.walk(
            from: start, direction: direction, maxDepth: max(0, request.maxDepth), maxNodes: max(0, request.maxNodes))
        return try result(of: walk, startID: start.id, direction: direction, on: db)
    }

    /// A walk as a `TraceResult`: node refs, statuses and plants, edges, and the receipts (backward)
    /// or shipments (forward) of the nodes reached. A node's plant is that of its first event, an
    /// edge's, receipt's or shipment's that of the event that made it (`PlantNames`): looked up by
    /// sequence only at a hub; at a plant store, the store's plant (or "") for all.
    static func result(of walk: TraceWalker.Walk, startID: Int64, direction: TraceDirection, on db: SQLiteConnection)
        throws(SQLiteError) -> TraceResult
    {
        var plants = try PlantNames.read(on: db)
        if plants.isHub {
            try plants.load(walk.nodes.lazy.map(\.firstSequence), on: db)
            try plants.load(walk.edges.lazy.map(\.sequence), on: db)
        }
        var result = TraceResult(truncated: walk.truncated)
        result.nodes = walk.nodes.map {
            TraceNode(ref: $0.ref, depth: $0.depth, status: traceStatus($0), plant: plants.plant(of: $0.firstSequence))
        }
        result.edges = walk.edges.map { edge in
            TraceEdge(
                from: walk.nodes[edge.fromIndex].ref, to: walk.nodes[edge.toIndex].ref, kind: edge.kind,
                qty: edge.qty, workOrder: edge.workOrder, plant: plants.plant(of: edge.sequence),
                nodePositions: (edge.fromIndex, edge.toIndex))
        }
        if direction == .backward {
            result.receipts = try receipts(of: walk.nodes, plants: &plants, on: db)
        } else {
            result.shipments = try shipments(of: walk, startID: startID, plants: &plants, on: db)
        }
        return result
    }

    /// The status a trace shows: `hold` for a held item, `order` for a production order.
    static func traceStatus(_ node: WalkNode) -> String {
        if node.kind == "order" { return "order" }
        return node.status == "held" ? "hold" : node.status
    }

    /// `ids` as JSON arrays of at most `chunk` ids, for `… IN (SELECT value FROM json_each(?1))`:
    /// one statement per chunk instead of one per id. Written as bytes, without a String per id.
    static func jsonIDChunks(_ ids: some Sequence<Int64>, chunk: Int = 2_000) -> [String] {
        var chunks: [String] = []
        var text: [UInt8] = []
        var inChunk = 0
        for id in ids {
            text.append(inChunk == 0 ? UInt8(ascii: "[") : UInt8(ascii: ","))
            appendDecimal(id, to: &text)
            inChunk += 1
            if inChunk == chunk {
                text.append(UInt8(ascii: "]"))
                chunks.append(String(decoding: text, as: UTF8.self))
                text.removeAll(keepingCapacity: true)
                inChunk = 0
            }
        }
        if inChunk > 0 {
            text.append(UInt8(ascii: "]"))
            chunks.append(String(decoding: text, as: UTF8.self))
        }
        return chunks
    }

    /// The ids of `nodes` that can have receipts or shipments (orders cannot), in chunks.
    private static func idChunks(_ nodes: [WalkNode]) -> [String] {
        jsonIDChunks(nodes.lazy.filter { $0.kind != "order" }.map(\.id))
    }

    /// Appends the decimal digits of `value` (a row id, not negative) without making a String.
    private static func appendDecimal(_ value: Int64, to text: inout [UInt8]) {
        let start = text.count
        var v = value.magnitude
        repeat {
            text.append(UInt8(ascii: "0") + UInt8(v % 10))
            v /= 10
        } while v > 0
        text[start...].reverse()
    }

    private static func receipts(of nodes: [WalkNode], plants: inout PlantNames, on db: SQLiteConnection)
        throws(SQLiteError) -> [TraceReceipt]
    {
        let refs = Dictionary(nodes.map { ($0.id, $0.ref.lot) }, uniquingKeysWith: { a, _ in a })
        let select = try db.cachedStatement(
            """
            SELECT node_id, supplier, supplier_lot, purchase_order, qty, uom, sequence FROM receipts
            WHERE node_id IN (SELECT value FROM json_each(?1)) ORDER BY id
            """)
        var found: [TraceReceipt] = []
        var sequences: [Int64] = []
        for chunk in idChunks(nodes) {
            try select.query([.text(chunk)]) {
                guard let lot = refs[$0.int64(at: 0)] ?? nil else { return }
                found.append(
                    TraceReceipt(
                        lot: lot, supplier: $0.string(at: 1), supplierLot: $0.string(at: 2),
                        purchaseOrder: $0.string(at: 3), qty: quantity($0, 4), plant: plants.common))
                sequences.append($0.int64(at: 6))
            }
        }
        if plants.isHub {
            try plants.load(sequences, on: db)
            for i in found.indices { found[i].plant = plants.plant(of: sequences[i]) }
        }
        return found
    }

    private static func shipments(
        of walk: TraceWalker.Walk, startID: Int64, plants: inout PlantNames, on db: SQLiteConnection
    ) throws(SQLiteError) -> [TraceShipment] {
        // The containment windows through which each container was reached.
        var windows: [Int64: [(packed: Int64, ended: Int64?)]] = [:]
        for edge in walk.edges where edge.kind == "containment" {
            windows[edge.to, default: []].append((edge.sequence, edge.endedSequence))
        }
        let select = try db.cachedStatement(
            """
            SELECT node_id, customer, delivery, qty, uom, sequence FROM shipments
            WHERE node_id IN (SELECT value FROM json_each(?1)) ORDER BY id
            """)
        var found: [TraceShipment] = []
        var sequences: [Int64] = []
        for chunk in idChunks(walk.nodes) {
            try select.query([.text(chunk)]) { row throws(SQLiteError) in
                guard let position = walk.positions[row.int64(at: 0)] else { return }
                let node = walk.nodes[position]
                guard let lot = node.ref.lot else { return }
                let sequence = row.int64(at: 5)
                if node.kind == "container" && node.id != startID,
                    !(windows[node.id] ?? []).contains(where: { $0.packed < sequence && ($0.ended ?? .max) > sequence })
                {
                    return
                }
                found.append(
                    TraceShipment(
                        lot: lot, customer: row.string(at: 1), delivery: row.string(at: 2), qty: quantity(row, 3),
                        plant: plants.common))
                sequences.append(sequence)
            }
        }
        if plants.isHub {
            try plants.load(sequences, on: db)
            for i in found.indices { found[i].plant = plants.plant(of: sequences[i]) }
        }
        return found
    }

    private static func quantity(_ row: SQLiteStatement, _ i: Int) -> Quantity? {
        row.isNull(at: i) ? nil : Quantity(value: row.double(at: i), uom: row.string(at: i + 1))
    }

    /// `read`, with SQLite errors turned into `GenealogyStoreError.queryFailed`.
    func storeQuery<T>(_ body: (SQLiteConnection) throws(SQLiteError) -> T) throws -> T {
        try read { db in
            do throws(SQLiteError) {
                return try body(db)
            } catch {
                throw GenealogyStoreError(.queryFailed, "a store query failed", underlying: error)
            }
        }
    }
}
