public import MESDomain
import SQLite

/// The baseline `bench/trace` measures Trace against: what an EPCIS-style trace-back client does,
/// one flat "every event for this lot" query per hop (plus "every event of this order" for
/// order-level links), decoding each returned event and deriving the next hops from its body.
/// Runs on a read-only connection, with no network in between (an EPCIS client would pay a round
/// trip per hop on top). Not used by the server.
extension GenealogyStore {
    /// The events of the node `?1`, each once, in commit order (`EventLinks`).
    static let eventsOfNodeSQL = """
        SELECT e.raw FROM events e
        WHERE e.sequence IN (\(EventLinks.sequences(of: "?1"))) ORDER BY e.sequence
        """

    /// The lots, serials and containers reached from `start` the naive way, or nil for an unknown lot.
    /// `decode` turns a stored `mes.v1.Event` into a domain event (MESMessages' `EventCodec`).
    public func naiveTrace(
        _ start: LotRef, direction: TraceDirection, decode: (UnsafeRawBufferPointer) -> Event?
    ) throws -> Set<LotRef>? {
        try storeQuery { db throws(SQLiteError) -> Set<LotRef>? in
            let walker = TraceWalker(db: db)
            guard try walker.node(start) != nil else { return nil }
            // Each event once (a node can be named under two roles), in commit order; deduplicated by
            // sequence, not by comparing the bytes of every event.
            let eventsOfNode = try db.cachedStatement(Self.eventsOfNodeSQL)
            func events(of id: Int64) throws(SQLiteError) -> [Event] {
                var found: [Event] = []
                try eventsOfNode.query([.integer(id)]) { row in
                    let raw = row.blob(at: 0)
                    if let event = raw.withUnsafeBytes({ decode($0) }) { found.append(event) }
                }
                return found
            }
            func key(_ ref: LotRef) -> LotRef {
                ref.kind == .serial ? LotRef(product: ref.product, serial: ref.serial) : ref
            }
            let forward = direction != .backward
            var seen: Set<LotRef> = [key(start)]
            var seenOrders: Set<String> = []
            var queue: [LotRef] = [start]
            var head = 0
            while head < queue.count {
                let lot = queue[head]
                head += 1
                guard let node = try walker.node(lot) else { continue }
                var next: [LotRef] = []
                for event in try events(of: node.id) {
                    switch event.body {
                    case .consumed(let b):
                        if forward && key(b.component) == key(lot) {
                            if let into = b.into, into.isTracked {
                                next.append(into)
                            } else if !event.workOrder.isEmpty && seenOrders.insert(event.workOrder).inserted,
                                let order = try walker.order(event.workOrder)
                            {
                                for e in try events(of: order.id) { next += outputs(e) }
                            }
                        } else if !forward, let into = b.into, key(into) == key(lot), b.component.isTracked {
                            next.append(b.component)
                        }
                    case .produced(let b):
                        if !forward && key(b.output) == key(lot) && !event.workOrder.isEmpty
                            && seenOrders.insert(event.workOrder).inserted,
                            let order = try walker.order(event.workOrder)
                        {
                            for e in try events(of: order.id) {
                                if case .consumed(let c) = e.body, c.into == nil, c.component.isTracked {
                                    next.append(c.component)
                                }
                            }
                        }
                    case .packed(let b):
                        if forward && b.action == .add && b.contents.contains(where: { key($0) == key(lot) }) {
                            next.append(b.container)
                        } else if !forward && b.action == .add && key(b.container) == key(lot) {
                            next += b.contents
                        }
                    case .moved(let b):
                        guard let newLot = b.newLot, newLot.isTracked else { break }
                        if forward && key(b.lot) == key(lot) { next.append(newLot) }
                        if !forward && key(newLot) == key(lot) { next.append(b.lot) }
                    default: break
                    }
                }
                for ref in next where seen.insert(key(ref)).inserted { queue.append(ref) }
            }
            return seen
        }
    }

    private func outputs(_ event: Event) -> [LotRef] {
        switch event.body {
        case .produced(let b): [b.output]
        case .consumed(let b): b.into.map { $0.isTracked ? [$0] : [] } ?? []
        default: []
        }
    }
}
