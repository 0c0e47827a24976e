public import MESDomain
import SQLite

/// The hub's books beside its genealogy: which store replicates each plant, how far each plant
/// has been applied, the holds plants placed, and the messages the hub could not apply.
///
/// Plant events go through the store's writer (`IngestRequest.origin`); these rows are written on
/// a connection of their own, one short `BEGIN IMMEDIATE` transaction each, like `OutboxStore`.
/// Not `Sendable`: confined to the hub applier's thread.
public final class HubLedger {
    private let db: SQLiteConnection

    /// Opens the ledger of the store at `path` (`GenealogyStore.path`), which must be migrated.
    public init(path: String) throws(GenealogyStoreError) {
        db = try .bookkeeping(at: path, for: "the hub ledger")
    }

    /// Checks that `storeID` is the store that replicates `plant`, recording it for a plant seen
    /// first. Refused (with the reason) for a second store claiming a plant.
    public func admit(plant: String, storeID: String, nowMs: Int64) throws(GenealogyStoreError) -> String? {
        try guarded { () throws(SQLiteError) -> String? in
            if let known = try db.cachedStatement("SELECT store_id FROM hub_plants WHERE plant = ?1").first(
                [.text(plant)], { $0.string(at: 0) })
            {
                return known == storeID
                    ? nil
                    : "plant \(plant) is replicated by store \(known); this message comes from store \(storeID): two gateways cannot replicate as one plant"
            }
            try db.cachedStatement(
                "INSERT INTO hub_plants (plant, store_id, applied_at_ms) VALUES (?1, ?2, ?3)"
            ).run([.text(plant), .text(storeID), .integer(nowMs)])
            return nil
        }
    }

    /// Records that `plant`'s events up to `sequence` are applied (`count` more of them).
    public func applied(plant: String, through sequence: Int64, count: Int, nowMs: Int64) throws(GenealogyStoreError) {
        try guarded { () throws(SQLiteError) in
            try db.cachedStatement(
                """
                UPDATE hub_plants SET last_sequence = max(last_sequence, ?2), applied = applied + ?3, applied_at_ms = ?4
                WHERE plant = ?1
                """
            ).run([.text(plant), .integer(sequence), .int(count), .integer(nowMs)])
        }
    }

    /// Records a hold a plant placed (once per plant and hold id).
    public func placed(
        plant: String, holdID: Int64, request: HoldRequest, by who: String, atMs: Int64
    ) throws(GenealogyStoreError) {
        try guarded { () throws(SQLiteError) in
            try db.cachedStatement(
                """
                INSERT INTO plant_holds (plant, hold_id, product, lot, serial, container, reason, placed_by, propagate,
                  placed_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                ON CONFLICT (plant, hold_id) DO NOTHING
                """
            ).run([
                .text(plant), .integer(holdID), .text(request.lot.product), .text(request.lot.lot),
                .text(request.lot.serial), .text(request.lot.container), .text(request.reason), .text(who),
                .int(request.propagate ? 1 : 0), .integer(atMs),
            ])
        }
    }

    /// Records a plant's release of its hold `holdID`.
    public func released(plant: String, holdID: Int64, reason: String, by who: String, atMs: Int64)
        throws(GenealogyStoreError)
    {
        try guarded { () throws(SQLiteError) in
            try db.cachedStatement(
                """
                UPDATE plant_holds SET released_at_ms = ?3, released_by = ?4, release_reason = ?5
                WHERE plant = ?1 AND hold_id = ?2 AND released_at_ms IS NULL
                """
            ).run([.text(plant), .integer(holdID), .integer(atMs), .text(who), .text(reason)])
        }
    }

    /// Keeps a message the hub could not apply, with why.
    public func deadLetter(_ letter: HubDeadLetter) throws(GenealogyStoreError) {
        try guarded { () throws(SQLiteError) in
            try db.cachedStatement(
                """
                INSERT INTO hub_dead_letters (plant, stream, stream_sequence, reason, headers, body, at_ms)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                """
            ).run([
                .text(letter.plant), .text(letter.stream), .integer(letter.streamSequence), .text(letter.reason),
                .text(letter.headers), .blob(letter.body), .integer(letter.atMs),
            ])
        }
    }

    /// Every plant the hub has heard from, by name.
    public func plants() throws(GenealogyStoreError) -> [HubPlant] {
        try guarded { () throws(SQLiteError) in try HubPlant.all(db) }
    }

    /// The dead letters, newest first.
    public func deadLetters(limit: Int) throws(GenealogyStoreError) -> [HubDeadLetter] {
        try guarded { () throws(SQLiteError) in
            var found: [HubDeadLetter] = []
            try db.cachedStatement(
                """
                SELECT plant, stream, stream_sequence, reason, headers, body, at_ms FROM hub_dead_letters
                ORDER BY id DESC LIMIT ?1
                """
            ).query([.int(limit)]) {
                found.append(
                    HubDeadLetter(
                        plant: $0.string(at: 0), stream: $0.string(at: 1), streamSequence: $0.int64(at: 2),
                        reason: $0.string(at: 3), headers: $0.string(at: 4), body: $0.blob(at: 5), atMs: $0.int64(at: 6)
                    ))
            }
            return found
        }
    }

    private func guarded<T>(_ body: () throws(SQLiteError) -> T) throws(GenealogyStoreError) -> T {
        try guardedQuery("the hub ledger", body)
    }
}

/// A plant as the hub knows it.
public struct HubPlant: Sendable, Hashable {
    static func all(_ db: SQLiteConnection) throws(SQLiteError) -> [HubPlant] {
        var found: [HubPlant] = []
        try db.cachedStatement(
            """
            SELECT p.plant, p.store_id, p.last_sequence, p.applied, p.applied_at_ms,
              (SELECT count(*) FROM plant_holds h WHERE h.plant = p.plant AND h.released_at_ms IS NULL),
              (SELECT count(*) FROM hub_dead_letters d WHERE d.plant = p.plant)
            FROM hub_plants p ORDER BY p.plant
            """
        ).query {
            found.append(
                HubPlant(
                    plant: $0.string(at: 0), storeID: $0.string(at: 1), lastSequence: $0.int64(at: 2),
                    applied: $0.int64(at: 3), appliedAtMs: $0.int64(at: 4), openHolds: $0.int(at: 5),
                    deadLetters: $0.int(at: 6)))
        }
        return found
    }

    public var plant: String
    public var storeID: String
    /// The plant sequence of the last event applied.
    public var lastSequence: Int64
    public var applied: Int64
    public var appliedAtMs: Int64
    public var openHolds: Int
    public var deadLetters: Int

    public init(
        plant: String, storeID: String, lastSequence: Int64, applied: Int64, appliedAtMs: Int64, openHolds: Int,
        deadLetters: Int
    ) {
        self.plant = plant
        self.storeID = storeID
        self.lastSequence = lastSequence
        self.applied = applied
        self.appliedAtMs = appliedAtMs
        self.openHolds = openHolds
        self.deadLetters = deadLetters
    }
}

/// A message the hub could not apply.
public struct HubDeadLetter: Sendable, Hashable {
    public var plant: String
    public var stream: String
    public var streamSequence: Int64
    public var reason: String
    /// The message's headers, one `Name: value` per line.
    public var headers: String
    public var body: [UInt8]
    public var atMs: Int64

    public init(
        plant: String, stream: String, streamSequence: Int64, reason: String, headers: String, body: [UInt8],
        atMs: Int64
    ) {
        self.plant = plant
        self.stream = stream
        self.streamSequence = streamSequence
        self.reason = reason
        self.headers = headers
        self.body = body
        self.atMs = atMs
    }
}
