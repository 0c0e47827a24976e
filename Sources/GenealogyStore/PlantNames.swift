import SQLite

/// The plant of stored events for one query, by the rule of genealogy/MODEL.md ("Many plants"):
/// `plant_events.plant` of the event's sequence when there is a row (at a hub), else
/// `store_identity.plant` when set, else the event's own `events.plant`.
///
/// Whether the store is a hub is read once per query (`read`). A plant store's `plant_events` is
/// empty, so there one value names every event whose row is not read (`common`: the store's plant,
/// or "") and a trace costs no lookup per node; only a hub looks plants up by sequence (`load`), in
/// chunks over the unique index on `plant_events.sequence`.
struct PlantNames {
    /// `plant_events` has rows: the store is a hub.
    let isHub: Bool
    /// `store_identity.plant`, when set.
    let identity: String?
    /// At a hub: the plant of every sequence passed to `load`.
    private var known: [Int64: String] = [:]

    /// The plant of events whose row is not read, at a plant store: its own plant, or "".
    var common: String { identity ?? "" }

    /// Reads whether the store is a hub and the plant it serves: one statement.
    static func read(on db: SQLiteConnection) throws(SQLiteError) -> PlantNames {
        try db.cachedStatement(
            "SELECT EXISTS (SELECT 1 FROM plant_events LIMIT 1), (SELECT plant FROM store_identity WHERE id = 1)"
        ).first { row in
            PlantNames(isHub: row.int(at: 0) != 0, identity: row.isNull(at: 1) ? nil : row.string(at: 1))
        } ?? PlantNames(isHub: false, identity: nil)
    }

    private init(isHub: Bool, identity: String?) {
        self.isHub = isHub
        self.identity = identity
    }

    /// The plant of the event `sequence`: at a hub, as loaded (`load` first); at a plant store, `common`.
    func plant(of sequence: Int64) -> String { isHub ? known[sequence] ?? common : common }

    /// At a hub, looks up the plants of `sequences` not loaded yet: `plant_events` first, then, for
    /// events stored at the hub itself, the store's plant or `events.plant`. Does nothing at a
    /// plant store.
    mutating func load(_ sequences: some Sequence<Int64>, on db: SQLiteConnection) throws(SQLiteError) {
        guard isHub else { return }
        var wanted = Set<Int64>()
        for sequence in sequences where known[sequence] == nil { wanted.insert(sequence) }
        guard !wanted.isEmpty else { return }
        let fromPlants = try db.cachedStatement(
            "SELECT sequence, plant FROM plant_events WHERE sequence IN (SELECT value FROM json_each(?1))")
        for chunk in GenealogyStore.jsonIDChunks(wanted) {
            try fromPlants.query([.text(chunk)]) { known[$0.int64(at: 0)] = $0.string(at: 1) }
        }
        let rest = wanted.filter { known[$0] == nil }
        guard !rest.isEmpty else { return }
        if let identity {
            for sequence in rest { known[sequence] = identity }
            return
        }
        let own = try db.cachedStatement(
            "SELECT sequence, plant FROM events WHERE sequence IN (SELECT value FROM json_each(?1))")
        for chunk in GenealogyStore.jsonIDChunks(rest) {
            try own.query([.text(chunk)]) { known[$0.int64(at: 0)] = $0.string(at: 1) }
        }
    }

    /// The SQL of an event's plant where its `events` row is read as `alias`, with `?hub` and
    /// `?identity` the numbers of the parameters that `arguments` fills: at a hub
    /// `plant_events`, else the store's plant, else `events.plant` (the subquery runs only at a hub).
    static func column(_ alias: String, hub: Int, identity: Int) -> String {
        """
        coalesce(CASE WHEN ?\(hub) THEN (SELECT pe.plant FROM plant_events pe WHERE pe.sequence = \(alias).sequence) END,
          ?\(identity), \(alias).plant)
        """
    }

    /// The values of the parameters of `column`: the hub flag, then the store's plant.
    var arguments: [SQLiteValue] { [.integer(isHub ? 1 : 0), .optionalText(identity)] }
}
