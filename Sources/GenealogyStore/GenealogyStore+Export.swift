public import MESDomain
import SQLite

/// What an export is made of: the traces from one lot, every stored event of every node they
/// reach, and the holds covering those nodes. Read in one transaction (one snapshot).
public struct ExportSource: Sendable {
    /// The lot as the store knows it (a serial's lot filled in).
    public var start: LotRef
    /// The backward trace, when asked for (`backward` or both).
    public var backward: TraceResult?
    /// The forward trace, when asked for (`forward` or both).
    public var forward: TraceResult?
    /// Every event naming a node of the traces (lots, serials, containers and production orders),
    /// in commit order, each once.
    public var events: [StoredEvent]
    /// Holds that cover a node of the traces, oldest first.
    public var holds: [StoredHold]

    public init(
        start: LotRef, backward: TraceResult?, forward: TraceResult?, events: [StoredEvent], holds: [StoredHold]
    ) {
        self.start = start
        self.backward = backward
        self.forward = forward
        self.events = events
        self.holds = holds
    }

    /// Whether a node limit cut either trace short.
    public var truncated: Bool { (backward?.truncated ?? false) || (forward?.truncated ?? false) }
}

/// A quality hold as stored, with the items of the export it covers.
public struct StoredHold: Sendable, Hashable {
    public var id: Int64
    /// The lot, serial or container the hold was placed on.
    public var root: LotRef
    public var reason: String
    public var placedBy: String
    public var propagate: Bool
    public var placedAtMs: Int64
    public var releasedAtMs: Int64?
    public var releasedBy: String
    public var releaseReason: String
    /// The items it covers (the root among them), as far as they are part of the export.
    public var items: [LotRef]

    public init(
        id: Int64, root: LotRef, reason: String, placedBy: String, propagate: Bool, placedAtMs: Int64,
        releasedAtMs: Int64?, releasedBy: String, releaseReason: String, items: [LotRef]
    ) {
        self.id = id
        self.root = root
        self.reason = reason
        self.placedBy = placedBy
        self.propagate = propagate
        self.placedAtMs = placedAtMs
        self.releasedAtMs = releasedAtMs
        self.releasedBy = releasedBy
        self.releaseReason = releaseReason
        self.items = items
    }
}

extension GenealogyStore {
    /// Reads what an export of `lot` needs, in one read transaction on a pooled connection on the
    /// caller's thread: the backward and/or forward walk (`direction` `.unspecified` means both,
    /// each limited to `maxNodes`, 0 = no limit), the events of every node reached, and the holds
    /// covering them. Nil when the store never saw the lot. Costs index range scans in proportion
    /// to the answer: one per node for the walk and three for its events (`EventLinks`), one primary-key lookup per event.
    public func exportSource(lot: LotRef, direction: TraceDirection, maxNodes: Int = 0) throws -> ExportSource? {
        try storeQuery { db throws(SQLiteError) -> ExportSource? in
            try db.readTransaction { () throws(SQLiteError) -> ExportSource? in
                let walker = TraceWalker(db: db)
                guard let start = try walker.node(lot) else { return nil }
                var refs: [Int64: LotRef] = [:]
                var orderIDs: [Int64] = []
                var source = ExportSource(
                    start: start.ref.lot ?? lot, backward: nil, forward: nil, events: [], holds: [])
                for way in [TraceDirection.backward, .forward] where direction == .unspecified || direction == way {
                    let walk = try walker.walk(from: start, direction: way, maxNodes: max(0, maxNodes))
                    for node in walk.nodes where refs[node.id] == nil {
                        if let ref = node.ref.lot {
                            refs[node.id] = ref
                        } else if node.kind == "order" {
                            orderIDs.append(node.id)
                        }
                    }
                    let result = try Self.result(of: walk, startID: start.id, direction: way, on: db)
                    if way == .backward { source.backward = result } else { source.forward = result }
                }
                let nodeIDs = Array(refs.keys) + orderIDs
                source.events = try Self.events(of: nodeIDs, plants: PlantNames.read(on: db), on: db)
                source.holds = try Self.holds(covering: refs, on: db)
                return source
            }
        }
    }

    /// The sequences of the events linked to the node ids of the JSON array `?1` (`EventLinks`).
    static let linkedSequencesSQL = EventLinks.sequences(ofAnyIn: "SELECT value FROM json_each(?1)")

    /// The events naming any of `nodeIDs`, each once, by sequence, each with its plant.
    private static func events(of nodeIDs: [Int64], plants: PlantNames, on db: SQLiteConnection)
        throws(SQLiteError) -> [StoredEvent]
    {
        var sequences = Set<Int64>()
        let links = try db.cachedStatement(Self.linkedSequencesSQL)
        for chunk in jsonIDChunks(nodeIDs, chunk: 4_000) {
            try links.query([.text(chunk)]) { sequences.insert($0.int64(at: 0)) }
        }
        let ordered = sequences.sorted()
        var events: [StoredEvent] = []
        events.reserveCapacity(ordered.count)
        let select = try db.cachedStatement(
            """
            SELECT e.sequence, e.event_id, e.kind, e.client, e.recorded_at_ms, e.raw,
              \(PlantNames.column("e", hub: 2, identity: 3)),
              \(CorrectionMarks.columns)
            FROM events e
            \(CorrectionMarks.joins("e"))
            WHERE e.sequence IN (SELECT value FROM json_each(?1)) ORDER BY e.sequence
            """)
        for chunk in jsonIDChunks(ordered, chunk: 4_000) {
            try select.query([.text(chunk)] + plants.arguments) {
                var event = StoredEvent(
                    sequence: $0.int64(at: 0), eventID: $0.string(at: 1), kind: $0.string(at: 2),
                    client: $0.string(at: 3), recordedAtMs: $0.int64(at: 4), raw: $0.blob(at: 5),
                    plant: $0.string(at: 6))
                CorrectionMarks.read($0, from: 7, into: &event)
                events.append(event)
            }
        }
        return events
    }

    /// Holds with at least one item among `refs`, oldest first; each lists the items among `refs`.
    private static func holds(covering refs: [Int64: LotRef], on db: SQLiteConnection) throws(SQLiteError)
        -> [StoredHold]
    {
        var byID: [Int64: StoredHold] = [:]
        var roots: [Int64: Int64] = [:]
        let select = try db.cachedStatement(
            """
            SELECT h.id, h.node_id, h.reason, h.placed_by, h.propagate, h.placed_at_ms, h.released_at_ms,
              h.released_by, h.release_reason, hi.node_id
            FROM hold_items hi JOIN holds h ON h.id = hi.hold_id
            WHERE hi.node_id IN (SELECT value FROM json_each(?1))
            """)
        for chunk in jsonIDChunks(refs.keys, chunk: 4_000) {
            try select.query([.text(chunk)]) { row in
                let id = row.int64(at: 0)
                let item = refs[row.int64(at: 9)] ?? LotRef()
                if byID[id] != nil {
                    byID[id]?.items.append(item)
                    return
                }
                roots[id] = row.int64(at: 1)
                byID[id] = StoredHold(
                    id: id, root: LotRef(), reason: row.string(at: 2), placedBy: row.string(at: 3),
                    propagate: row.int(at: 4) != 0, placedAtMs: row.int64(at: 5),
                    releasedAtMs: row.isNull(at: 6) ? nil : row.int64(at: 6), releasedBy: row.string(at: 7),
                    releaseReason: row.string(at: 8), items: [item])
            }
        }
        let node = try db.cachedStatement("SELECT \(TraceWalker.nodeColumns) FROM nodes n WHERE n.id = ?1")
        var holds: [StoredHold] = []
        for (id, var hold) in byID.sorted(by: { $0.key < $1.key }) {
            let rootID = roots[id] ?? 0
            if let ref = refs[rootID] {
                hold.root = ref
            } else if let found = try node.first([.integer(rootID)], { TraceWalker.walkNode($0, at: 0, depth: 0) }) {
                hold.root = found.ref.lot ?? LotRef()
            }
            holds.append(hold)
        }
        return holds
    }
}
