public import MESDomain
import SQLite

/// The hub's books of its own holds on their way to the plants (`hub_hold_fanout`,
/// `hub_hold_deliveries`): which holds and releases are still to send, which plants a hold
/// concerns and what it holds there, and which plants have applied what they were sent.
///
/// A hold placed at the hub covers items of several plants. What a plant gets is the items its own
/// events touch, reduced to their roots in that plant's graph (an item reached from another of
/// them by one of that plant's edges is left to the plant's own propagation). Not `Sendable`:
/// confined to the hold fan-out's thread.
public final class HubHoldBook {
    private let db: SQLiteConnection
    /// Synced before a hold leaves for the plants (`makeReadsDurable`).
    private let wal: WALFile

    public init(path: String) throws(GenealogyStoreError) {
        db = try .bookkeeping(at: path, for: "the hub's hold books")
        wal = WALFile(databasePath: path)
    }

    /// Makes everything this connection read so far durable (a sync of the log), before a hold or
    /// its release is sent: the hub's writer acks once the log is synced (`CommitSyncer`), but the
    /// hold is visible here before, and a plant must not get a hold a power cut could take back
    /// (its id could then be given to another).
    public func makeReadsDurable() throws(GenealogyStoreError) {
        try wal.syncBeforeTelling()
    }

    /// A hub hold (or its release) not sent to the plants yet.
    public struct Pending: Sendable, Hashable {
        public var holdID: Int64
        public var root: LotRef
        public var reason: String
        public var by: String
        public var atMs: Int64
        /// The release of a hold already sent; false: the placement.
        public var isRelease: Bool
    }

    /// Placements not sent yet, then releases of sent holds not sent yet, oldest first.
    public func pending(limit: Int) throws(GenealogyStoreError) -> [Pending] {
        try guarded { () throws(SQLiteError) in
            var found: [Pending] = []
            let columns = "h.id, n.product, n.lot, n.serial, n.container"
            try db.cachedStatement(
                """
                SELECT \(columns), h.reason, h.placed_by, h.placed_at_ms FROM holds h JOIN nodes n ON n.id = h.node_id
                WHERE NOT EXISTS (SELECT 1 FROM hub_hold_fanout f WHERE f.hold_id = h.id) ORDER BY h.id LIMIT ?1
                """
            ).query([.int(limit)]) { found.append(Self.pending($0, isRelease: false)) }
            try db.cachedStatement(
                """
                SELECT \(columns), h.release_reason, h.released_by, h.released_at_ms
                FROM hub_hold_fanout f JOIN holds h ON h.id = f.hold_id JOIN nodes n ON n.id = h.node_id
                WHERE f.released_sent_at_ms IS NULL AND h.released_at_ms IS NOT NULL ORDER BY h.id LIMIT ?1
                """
            ).query([.int(limit)]) { found.append(Self.pending($0, isRelease: true)) }
            return found
        }
    }

    private static func pending(_ row: SQLiteStatement, isRelease: Bool) -> Pending {
        Pending(
            holdID: row.int64(at: 0),
            root: LotRef(
                product: row.string(at: 1), lot: row.string(at: 2), serial: row.string(at: 3),
                container: row.string(at: 4)),
            reason: row.string(at: 5), by: row.string(at: 6), atMs: row.int64(at: 7), isRelease: isRelease)
    }

    /// The lots the hold `?1` holds at each plant (see `lotsByPlant`).
    static let lotsByPlantSQL = """
        WITH touched AS (
          SELECT DISTINCT p.plant, i.node_id FROM hold_items i
          JOIN plant_events p ON p.sequence IN (\(EventLinks.sequences(of: "i.node_id")))
          WHERE i.hold_id = ?1)
        SELECT t.plant, n.product, n.lot, n.serial, n.container FROM touched t JOIN nodes n ON n.id = t.node_id
        WHERE NOT EXISTS (
          SELECT 1 FROM edges e JOIN plant_events pe ON pe.sequence = e.sequence
          JOIN touched f ON f.node_id = e.from_node AND f.plant = pe.plant
          WHERE e.to_node = t.node_id AND pe.plant = t.plant AND e.from_node != t.node_id)
        ORDER BY t.plant, n.id
        """

    /// The lots `hold` holds at each plant: per plant, the hold's items that plant's events touch,
    /// without those another of them reaches by one of that plant's edges.
    public func lotsByPlant(hold: Int64) throws(GenealogyStoreError) -> [String: [LotRef]] {
        try guarded { () throws(SQLiteError) in
            var found: [String: [LotRef]] = [:]
            try db.cachedStatement(Self.lotsByPlantSQL).query([.integer(hold)]) {
                found[$0.string(at: 0), default: []].append(
                    LotRef(
                        product: $0.string(at: 1), lot: $0.string(at: 2), serial: $0.string(at: 3),
                        container: $0.string(at: 4)))
            }
            return found
        }
    }

    /// Records that `hold`'s placement went to `plant` (`lots` lots, at `sequence` of its stream).
    public func sent(hold: Int64, to plant: String, lots: Int, sequence: UInt64) throws(GenealogyStoreError) {
        try guarded { () throws(SQLiteError) in
            try db.cachedStatement(
                """
                INSERT INTO hub_hold_deliveries (hold_id, plant, lots, placed_sequence) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT (hold_id, plant) DO UPDATE SET lots = excluded.lots, placed_sequence = excluded.placed_sequence
                """
            ).run([.integer(hold), .text(plant), .int(lots), .integer(Int64(sequence))])
        }
    }

    /// Records that `hold`'s release went to `plant` at `sequence` of its stream.
    public func releaseSent(hold: Int64, to plant: String, sequence: UInt64) throws(GenealogyStoreError) {
        try guarded { () throws(SQLiteError) in
            try db.cachedStatement(
                "UPDATE hub_hold_deliveries SET released_sequence = ?3 WHERE hold_id = ?1 AND plant = ?2"
            ).run([.integer(hold), .text(plant), .integer(Int64(sequence))])
        }
    }

    /// The plants `hold` was sent to (whose releases go to the same).
    public func plants(of hold: Int64) throws(GenealogyStoreError) -> [String] {
        try guarded { () throws(SQLiteError) in
            var found: [String] = []
            try db.cachedStatement("SELECT plant FROM hub_hold_deliveries WHERE hold_id = ?1 ORDER BY plant").query([
                .integer(hold)
            ]) { found.append($0.string(at: 0)) }
            return found
        }
    }

    /// Records that every plant a hold or release concerned has been sent it.
    public func done(_ pending: Pending, nowMs: Int64) throws(GenealogyStoreError) {
        try guarded { () throws(SQLiteError) in
            if pending.isRelease {
                try db.cachedStatement("UPDATE hub_hold_fanout SET released_sent_at_ms = ?2 WHERE hold_id = ?1").run([
                    .integer(pending.holdID), .integer(nowMs),
                ])
            } else {
                try db.cachedStatement(
                    "INSERT OR IGNORE INTO hub_hold_fanout (hold_id, placed_sent_at_ms) VALUES (?1, ?2)"
                ).run([.integer(pending.holdID), .integer(nowMs)])
            }
        }
    }

    /// Plants with a delivery not yet applied, with the lowest stream sequence they still owe.
    public func plantsAwaitingApplication() throws(GenealogyStoreError) -> [String] {
        try guarded { () throws(SQLiteError) in
            var found: [String] = []
            try db.cachedStatement(
                """
                SELECT DISTINCT plant FROM hub_hold_deliveries
                WHERE placed_applied_at_ms IS NULL OR (released_sequence IS NOT NULL AND released_applied_at_ms IS NULL)
                ORDER BY plant
                """
            ).query { found.append($0.string(at: 0)) }
            return found
        }
    }

    /// Records that `plant` has applied everything in its holds stream up to `sequence`.
    public func applied(plant: String, through sequence: UInt64, nowMs: Int64) throws(GenealogyStoreError) {
        try guarded { () throws(SQLiteError) in
            try db.cachedStatement(
                """
                UPDATE hub_hold_deliveries SET placed_applied_at_ms = ?3
                WHERE plant = ?1 AND placed_applied_at_ms IS NULL AND placed_sequence <= ?2
                """
            ).run([.text(plant), .integer(Int64(sequence)), .integer(nowMs)])
            try db.cachedStatement(
                """
                UPDATE hub_hold_deliveries SET released_applied_at_ms = ?3
                WHERE plant = ?1 AND released_applied_at_ms IS NULL AND released_sequence <= ?2
                """
            ).run([.text(plant), .integer(Int64(sequence)), .integer(nowMs)])
        }
    }

    private func guarded<T>(_ body: () throws(SQLiteError) -> T) throws(GenealogyStoreError) -> T {
        try guardedQuery("the hub's hold books", body)
    }
}
