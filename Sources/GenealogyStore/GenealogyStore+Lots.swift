public import MESDomain
import SQLite

/// What `mesgate lots` looks for: every condition given must hold.
public struct LotQuery: Sendable, Hashable {
    public var product = ""
    /// The lot (or serial, or container) starts with this.
    public var prefix = ""
    /// Consumed into or made by this production order.
    public var workOrder = ""
    /// Shipped to this customer.
    public var customer = ""
    /// First seen (its first event stored) at or after / before these (Unix ms).
    public var sinceMs: Int64?
    public var untilMs: Int64?
    public var limit = 100

    public init() {}
}

/// A lot, serial or container as `mesgate lots` lists it.
public struct LotSummary: Sendable, Hashable {
    public var lot: LotRef
    public var status: String
    /// How it came into the store: received, produced, split, packed, unknown.
    public var origin: String
    public var firstSeenAtMs: Int64
    public var events: Int
}

extension GenealogyStore {
    /// The number of events linked to the node `node` (a correlated subquery, such as of `n.id`;
    /// `EventLinks`).
    static func eventCountSQL(of node: String) -> String {
        "(SELECT count(DISTINCT sequence) FROM (\(EventLinks.sequences(of: node))))"
    }

    /// The nodes matching `conditions` (on `nodes n` and the events row `e` of its first event),
    /// newest first, at most `limit`, with their event counts: the counts are taken for the rows
    /// returned only, after the sort and the limit (`EventLinksTests`).
    static func lotsSQL(where conditions: String, limit: String) -> String {
        """
        SELECT page.product, page.lot, page.serial, page.container, page.status, page.origin,
          page.recorded_at_ms, \(eventCountSQL(of: "page.id"))
        FROM (SELECT n.id, n.product, n.lot, n.serial, n.container, n.status, n.origin, e.recorded_at_ms,
                n.first_sequence
              FROM nodes n JOIN events e ON e.sequence = n.first_sequence
              WHERE \(conditions)
              ORDER BY n.first_sequence DESC LIMIT \(limit)) page
        ORDER BY page.first_sequence DESC
        """
    }

    /// The lots, serials and containers matching `query`, newest first (by when first seen).
    public func lots(_ query: LotQuery) throws -> [LotSummary] {
        try storeQuery { db throws(SQLiteError) in
            var conditions = ["n.kind != 'order'"]
            var values: [SQLiteValue] = []
            func value(_ v: SQLiteValue) -> String {
                values.append(v)
                return "?\(values.count)"
            }
            if !query.product.isEmpty { conditions.append("n.product = \(value(.text(query.product)))") }
            if !query.prefix.isEmpty {
                let p = value(.text(query.prefix))
                conditions.append(
                    "(substr(n.lot, 1, length(\(p))) = \(p) OR substr(n.serial, 1, length(\(p))) = \(p) OR substr(n.container, 1, length(\(p))) = \(p))"
                )
            }
            if !query.workOrder.isEmpty {
                let o = value(.text(query.workOrder))
                conditions.append(
                    """
                    (EXISTS (SELECT 1 FROM nodes o JOIN edges x ON (x.from_node = o.id AND x.to_node = n.id)
                               OR (x.to_node = o.id AND x.from_node = n.id)
                             WHERE o.kind = 'order' AND o.name = \(o))
                     OR EXISTS (SELECT 1 FROM edges x WHERE x.work_order = \(o) AND (x.from_node = n.id OR x.to_node = n.id)))
                    """)
            }
            if !query.customer.isEmpty {
                conditions.append(
                    "EXISTS (SELECT 1 FROM shipments s WHERE s.node_id = n.id AND s.customer = \(value(.text(query.customer))))"
                )
            }
            if let since = query.sinceMs { conditions.append("e.recorded_at_ms >= \(value(.integer(since)))") }
            if let until = query.untilMs { conditions.append("e.recorded_at_ms < \(value(.integer(until)))") }
            let limit = value(.int(query.limit))
            var found: [LotSummary] = []
            try db.cachedStatement(Self.lotsSQL(where: conditions.joined(separator: " AND "), limit: limit)).query(
                values
            ) {
                found.append(
                    LotSummary(
                        lot: LotRef(
                            product: $0.string(at: 0), lot: $0.string(at: 1), serial: $0.string(at: 2),
                            container: $0.string(at: 3)),
                        status: $0.string(at: 4), origin: $0.string(at: 5), firstSeenAtMs: $0.int64(at: 6),
                        events: $0.int(at: 7)))
            }
            return found
        }
    }
}
