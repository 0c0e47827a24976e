public import MESDomain
import SQLite
import Synchronization

/// Quality holds, placed and released on the writer thread so that they serialize with ingest.
extension GenealogyStore {
    /// Queues a hold on `request.lot` (see `HoldBook`). `completion` runs once, on the writer
    /// thread, after the batch commits; on `.full`/`.closed` it runs right away with `.failed`.
    public func placeHold(
        _ request: HoldRequest, by who: String, completion: @escaping @Sendable (HoldOutcome) -> Void
    ) {
        submitHoldCommand(completion) { db, nowMs throws(SQLiteError) in
            try HoldBook(db: db, nowMs: nowMs).place(request, by: who)
        }
    }

    /// Queues the release of the open holds placed on `request.lot` (see `HoldBook`).
    public func releaseHold(
        _ request: HoldRequest, by who: String, completion: @escaping @Sendable (HoldOutcome) -> Void
    ) {
        submitHoldCommand(completion) { db, nowMs throws(SQLiteError) in
            try HoldBook(db: db, nowMs: nowMs).release(request, by: who)
        }
    }

    /// `placeHold`, awaiting the outcome (for the CLI and tests).
    public func placeHold(_ request: HoldRequest, by who: String) async -> HoldOutcome {
        await withCheckedContinuation { done in placeHold(request, by: who) { done.resume(returning: $0) } }
    }

    /// `releaseHold`, awaiting the outcome (for the CLI and tests).
    public func releaseHold(_ request: HoldRequest, by who: String) async -> HoldOutcome {
        await withCheckedContinuation { done in releaseHold(request, by: who) { done.resume(returning: $0) } }
    }

    /// Refused events by kind (`shipment_refused`): what `mesgate exceptions` adds to the exceptions.
    public func refusedEventCounts() throws -> [String: Int] {
        try storeQuery { db throws(SQLiteError) in
            var counts: [String: Int] = [:]
            try db.cachedStatement("SELECT kind, count(*) FROM refused_events GROUP BY kind").query {
                counts[$0.string(at: 0)] = $0.int(at: 1)
            }
            return counts
        }
    }

    /// The newest `limit` refused events, newest first (event id, detail, when).
    public func refusedEvents(limit: Int) throws -> [RefusedEvent] {
        try storeQuery { db throws(SQLiteError) in
            var found: [RefusedEvent] = []
            try db.cachedStatement(
                "SELECT id, kind, event_id, detail, client, created_at_ms FROM refused_events ORDER BY id DESC LIMIT ?1"
            ).query([.int(limit)]) {
                found.append(
                    RefusedEvent(
                        id: $0.int64(at: 0), kind: $0.string(at: 1), eventID: $0.string(at: 2),
                        detail: $0.string(at: 3), client: $0.string(at: 4), createdAtMs: $0.int64(at: 5)))
            }
            return found
        }
    }

    private func submitHoldCommand(
        _ completion: @escaping @Sendable (HoldOutcome) -> Void,
        _ body: @escaping @Sendable (SQLiteConnection, Int64) throws(SQLiteError) -> HoldOutcome
    ) {
        submitCommand(failed: { .failed($0) }, completion: completion, body)
    }
}

extension GenealogyStore {
    /// Queues a writer command like `submit` queues an event.
    func submit(
        _ request: IngestRequest, command: WriterCommand, completion: @escaping @Sendable (IngestOutcome) -> Void
    ) -> SubmitResult {
        let submission = Submission(request: request, completion: completion, command: command)
        switch inbox.queue.withLock({ $0.offer(submission) }) {
        case .queued(let wakeWriter):
            if wakeWriter { inbox.wakeup.signal() }
            return .queued
        case .full: return .full
        case .closed: return .closed
        }
    }
}

/// An event the store refused (a Shipped of a held item), as `mesgate exceptions` lists it.
public struct RefusedEvent: Sendable, Hashable {
    public var id: Int64
    public var kind: String
    public var eventID: String
    public var detail: String
    public var client: String
    public var createdAtMs: Int64
}

extension GenealogyStore {
    /// After a hold on `root`: what its items already shipped (a recall) and which of them another
    /// open hold covers too; after a release (`released`): which items of the holds just released
    /// another open hold still covers.
    public func holdFollowUp(root: LotRef, released: Bool) throws -> HoldFollowUp {
        try storeQuery { db throws(SQLiteError) in
            guard let node = try TraceWalker(db: db).node(root) else { return HoldFollowUp() }
            let latest =
                released
                ? "SELECT id FROM holds WHERE node_id = ?1 AND released_at_ms = (SELECT max(released_at_ms) FROM holds WHERE node_id = ?1)"
                : "SELECT max(id) FROM holds WHERE node_id = ?1 AND released_at_ms IS NULL"
            var followUp = HoldFollowUp()
            if !released {
                try db.cachedStatement(
                    """
                    SELECT n.product, n.lot, n.serial, n.container, s.customer, s.delivery, s.qty, s.uom
                    FROM hold_items i JOIN shipments s ON s.node_id = i.node_id JOIN nodes n ON n.id = i.node_id
                    WHERE i.hold_id IN (\(latest)) ORDER BY s.sequence
                    """
                ).query([.integer(node.id)]) {
                    followUp.shipped.append(
                        TraceShipment(
                            lot: LotRef(
                                product: $0.string(at: 0), lot: $0.string(at: 1), serial: $0.string(at: 2),
                                container: $0.string(at: 3)),
                            customer: $0.string(at: 4), delivery: $0.string(at: 5),
                            qty: $0.isNull(at: 6) ? nil : Quantity(value: $0.double(at: 6), uom: $0.string(at: 7))))
                }
            }
            try db.cachedStatement(
                """
                SELECT DISTINCT n.product, n.lot, n.serial, n.container FROM hold_items i JOIN nodes n ON n.id = i.node_id
                WHERE i.hold_id IN (\(latest)) AND EXISTS (
                  SELECT 1 FROM hold_items j JOIN holds o ON o.id = j.hold_id
                  WHERE j.node_id = i.node_id AND j.hold_id != i.hold_id AND o.released_at_ms IS NULL)
                ORDER BY n.id
                """
            ).query([.integer(node.id)]) {
                followUp.stillHeld.append(
                    LotRef(
                        product: $0.string(at: 0), lot: $0.string(at: 1), serial: $0.string(at: 2),
                        container: $0.string(at: 3)))
            }
            return followUp
        }
    }
}

/// Enterprise holds: what the hub's holds do at a plant, and what the hub knows of their delivery.
extension GenealogyStore {
    /// Places, on the writer thread, the holds the hub's hold `hubHold` asks of this plant (one on
    /// each of `roots` the store knows, propagating); once per hub hold. `.notFound` when the store
    /// knows none of the lots.
    public func placeEnterpriseHold(
        hubHold: Int64, roots: [LotRef], reason: String, by who: String,
        completion: @escaping @Sendable (HoldOutcome) -> Void
    ) {
        submitHoldCommand(completion) { db, nowMs throws(SQLiteError) in
            try HoldBook(db: db, nowMs: nowMs).placeEnterprise(hubHold: hubHold, roots: roots, reason: reason, by: who)
        }
    }

    /// Releases the holds the hub's hold `hubHold` placed here, and only those.
    public func releaseEnterpriseHold(
        hubHold: Int64, reason: String, by who: String, completion: @escaping @Sendable (HoldOutcome) -> Void
    ) {
        submitHoldCommand(completion) { db, nowMs throws(SQLiteError) in
            try HoldBook(db: db, nowMs: nowMs).releaseEnterprise(hubHold: hubHold, reason: reason, by: who)
        }
    }

    /// At the hub: where the open holds placed on `lot` stand at each plant they concern.
    public func holdDeliveries(lot: LotRef) throws -> [HoldDelivery] {
        try storeQuery { db throws(SQLiteError) in
            guard let node = try TraceWalker(db: db).node(lot) else { return [] }
            var found: [HoldDelivery] = []
            try db.cachedStatement(
                """
                SELECT d.hold_id, d.plant, d.lots, d.placed_applied_at_ms, d.released_sequence, d.released_applied_at_ms
                FROM holds h JOIN hub_hold_deliveries d ON d.hold_id = h.id WHERE h.node_id = ?1 ORDER BY d.hold_id, d.plant
                """
            ).query([.integer(node.id)]) { found.append(HoldDelivery($0)) }
            return found
        }
    }

    /// At the hub: every plant it has heard from.
    public func hubPlants() throws -> [HubPlant] {
        try storeQuery { db throws(SQLiteError) in try HubPlant.all(db) }
    }

    /// At the hub: the deliveries of holds still open or whose release some plant has not applied.
    public func openHoldDeliveries(limit: Int) throws -> [HoldDelivery] {
        try storeQuery { db throws(SQLiteError) in
            var found: [HoldDelivery] = []
            try db.cachedStatement(
                """
                SELECT d.hold_id, d.plant, d.lots, d.placed_applied_at_ms, d.released_sequence, d.released_applied_at_ms
                FROM hub_hold_deliveries d JOIN holds h ON h.id = d.hold_id
                WHERE h.released_at_ms IS NULL OR d.released_applied_at_ms IS NULL
                ORDER BY d.hold_id DESC, d.plant LIMIT ?1
                """
            ).query([.int(limit)]) { found.append(HoldDelivery($0)) }
            return found
        }
    }
}

/// One hub hold at one plant.
public struct HoldDelivery: Sendable, Hashable {
    public var holdID: Int64
    public var plant: String
    /// The lots it holds there (in-plant roots; the plant propagates from them).
    public var lots: Int
    public var appliedAtMs: Int64?
    public var releaseSent: Bool
    public var releaseAppliedAtMs: Int64?

    public init(
        holdID: Int64, plant: String, lots: Int, appliedAtMs: Int64?, releaseSent: Bool, releaseAppliedAtMs: Int64?
    ) {
        self.holdID = holdID
        self.plant = plant
        self.lots = lots
        self.appliedAtMs = appliedAtMs
        self.releaseSent = releaseSent
        self.releaseAppliedAtMs = releaseAppliedAtMs
    }

    init(_ row: SQLiteStatement) {
        holdID = row.int64(at: 0)
        plant = row.string(at: 1)
        lots = row.int(at: 2)
        appliedAtMs = row.isNull(at: 3) ? nil : row.int64(at: 3)
        releaseSent = !row.isNull(at: 4)
        releaseAppliedAtMs = row.isNull(at: 5) ? nil : row.int64(at: 5)
    }
}
