import MESDomain
import SQLite

/// One hold not released yet, for the status page.
public struct OpenHold: Sendable, Hashable {
    public var id: Int64
    /// The lot, serial or container the hold was placed on.
    public var root: LotRef
    public var reason: String
    public var placedBy: String
    public var placedAtMs: Int64
    /// Items the hold covers: the root and, when it propagates, everything made from it.
    public var items: Int

    public init(id: Int64, root: LotRef, reason: String, placedBy: String, placedAtMs: Int64, items: Int) {
        self.id = id
        self.root = root
        self.reason = reason
        self.placedBy = placedBy
        self.placedAtMs = placedAtMs
        self.items = items
    }
}

extension GenealogyStore {
    /// Open holds, newest first; each runs on the caller's thread.
    public func openHolds(limit: Int) throws -> [OpenHold] {
        try read { db in
            var found: [OpenHold] = []
            do throws(SQLiteError) {
                try db.cachedStatement(
                    """
                    SELECT h.id, n.product, n.lot, n.serial, n.container, h.reason, h.placed_by, h.placed_at_ms,
                      (SELECT count(*) FROM hold_items i WHERE i.hold_id = h.id)
                    FROM holds h JOIN nodes n ON n.id = h.node_id
                    WHERE h.released_at_ms IS NULL ORDER BY h.id DESC LIMIT ?1
                    """
                ).query([.int(limit)]) {
                    found.append(
                        OpenHold(
                            id: $0.int64(at: 0),
                            root: LotRef(
                                product: $0.string(at: 1), lot: $0.string(at: 2), serial: $0.string(at: 3),
                                container: $0.string(at: 4)),
                            reason: $0.string(at: 5), placedBy: $0.string(at: 6), placedAtMs: $0.int64(at: 7),
                            items: $0.int(at: 8)))
                }
            } catch {
                throw GenealogyStoreError(.queryFailed, "a store query failed", underlying: error)
            }
            return found
        }
    }

    /// Lots, serials and containers held now (status `held`).
    public func heldNodeCount() throws -> Int {
        try read { db in
            do throws(SQLiteError) {
                return try db.cachedStatement("SELECT count(*) FROM nodes WHERE status = 'held'").first {
                    $0.int(at: 0)
                }
                    ?? 0
            } catch {
                throw GenealogyStoreError(.queryFailed, "a store query failed", underlying: error)
            }
        }
    }
}
