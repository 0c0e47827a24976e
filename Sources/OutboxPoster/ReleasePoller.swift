import Foundation
import GenealogyStore
public import Logging
public import MESDomain
public import Odoo
import Synchronization

/// Polls Odoo for released production orders (`mrp.production` confirmed or in progress, by a
/// `write_date` cursor) with their components, tracking and operations, on a thread of its own,
/// and hands every order it reads to `onOrder` (which keeps the set and tells subscribers, and
/// returns the order when it changed); changed orders are saved in the store's `work_orders`.
/// Orders that leave the released states (done, cancelled) are handed over once more.
public final class ReleasePoller: Sendable {
    private let configuration: OdooConfiguration
    private let intervalMs: Int64
    private let logger: Logger
    private let storePath: String
    private let onOrder: @Sendable (WorkOrder) -> WorkOrder?
    private let stopping = Atomic<Bool>(false)
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchGroup()

    public init(
        configuration: OdooConfiguration, storePath: String, intervalMs: Int64, logger: Logger,
        onOrder: @escaping @Sendable (WorkOrder) -> WorkOrder?
    ) {
        self.storePath = storePath
        self.configuration = configuration
        self.intervalMs = intervalMs
        self.logger = logger
        self.onOrder = onOrder
    }

    public func start() {
        finished.enter()
        let thread = Thread { [self] in
            run()
            finished.leave()
        }
        thread.name = "mesgate-odoo-release"
        thread.start()
    }

    /// Stops the thread after the poll in flight and waits for it. Blocks.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        wakeup.signal()
        finished.wait()
    }

    private func run() {
        let client: OdooClient
        let stored: WorkOrderStore
        let boms: BOMRevisions
        do {
            client = try OdooClient(configuration: configuration)
            stored = try WorkOrderStore(path: storePath)
            boms = BOMRevisions(
                reader: OdooMasterData(client: client), writer: try MasterDataWriter(path: storePath), orders: stored,
                logger: logger)
        } catch {
            logger.critical("odoo.release.start_failed", metadata: ["error": "\(error)"])
            return
        }
        var cursor: String?
        var productCodes: [Int: String] = [:]
        var workcenters: [Int: String] = [:]
        while !stopping.load(ordering: .acquiring) {
            do throws(OdooError) {
                cursor = try poll(client, since: cursor, boms, &productCodes, &workcenters) { changed in
                    do {
                        try stored.save(changed, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
                    } catch {
                        logger.error("odoo.release.save_failed", metadata: ["error": "\(error)"])
                    }
                }
            } catch {
                let level: Logger.Level = error.kind == .auth ? .error : .info
                logger.log(level: level, "odoo.release.poll_failed", metadata: ["error": "\(error)"])
            }
            _ = wakeup.wait(timeout: .now() + .milliseconds(Int(intervalMs)))
        }
    }

    /// One poll; returns the new cursor (the newest `write_date` seen; `>=` so a second's later
    /// writes are not missed, repeats are filtered by whoever receives them).
    private func poll(
        _ client: OdooClient, since cursor: String?, _ boms: BOMRevisions, _ productCodes: inout [Int: String],
        _ workcenters: inout [Int: String], save: (WorkOrder) -> Void
    ) throws(OdooError) -> String? {
        let domain: JSONValue =
            if let cursor { [["write_date", ">=", .string(cursor)]] } else {
                [["state", "in", ["confirmed", "progress"]]]
            }
        let orders = try client.searchRead(
            "mrp.production", domain,
            fields: [
                "name", "product_id", "product_qty", "state", "date_start", "write_date", "move_raw_ids",
                "workorder_ids", "product_tracking", "bom_id",
            ])
        var newest = cursor
        for order in orders {
            func code(_ id: Int) throws(OdooError) -> String {
                if let known = productCodes[id] { return known }
                let found =
                    try client.read("product.product", [id], fields: ["default_code"]).first?["default_code"]?.string
                    ?? ""
                productCodes[id] = found
                return found
            }
            var components: [WorkOrder.Component] = []
            let moveIDs = order["move_raw_ids"]?.array?.compactMap(\.int) ?? []
            if !moveIDs.isEmpty {
                let moves = try client.read(
                    "stock.move", moveIDs, fields: ["product_id", "product_uom_qty", "has_tracking"])
                // What Odoo has on hand of each component now (a shortage at the order's start).
                let productIDs = Array(Set(moves.compactMap { $0["product_id"]?.many2oneID })).sorted()
                var onHand: [Int: Double] = [:]
                for product in try client.read("product.product", productIDs, fields: ["qty_available"]) {
                    if let id = product["id"]?.int, let qty = product["qty_available"]?.double { onHand[id] = qty }
                }
                for move in moves {
                    let productID = move["product_id"]?.many2oneID ?? 0
                    components.append(
                        WorkOrder.Component(
                            product: try code(productID), qty: move["product_uom_qty"]?.double ?? 0,
                            tracking: Self.tracking(move["has_tracking"]), available: onHand[productID]))
                }
            }
            var operations: [WorkOrder.Operation] = []
            let workorderIDs = order["workorder_ids"]?.array?.compactMap(\.int) ?? []
            if !workorderIDs.isEmpty {
                for wo in try client.read(
                    "mrp.workorder", workorderIDs, fields: ["name", "workcenter_id", "duration_expected", "sequence"])
                {
                    let center = wo["workcenter_id"]?.array?.last?.string ?? ""
                    if let id = wo["workcenter_id"]?.many2oneID { workcenters[id] = center }
                    operations.append(
                        WorkOrder.Operation(
                            sequence: UInt32(max(0, wo["sequence"]?.int ?? 0)), name: wo["name"]?.string ?? "",
                            workCenter: center, expectedMinutes: wo["duration_expected"]?.double ?? 0))
                }
            }
            let name = order["name"]?.string ?? ""
            let bom = try boms.revision(of: name, bomID: order["bom_id"]?.many2oneID)
            let changed = onOrder(
                WorkOrder(
                    id: name, odooID: Int64(order["id"]?.int ?? 0),
                    product: try code(order["product_id"]?.many2oneID ?? 0), qty: order["product_qty"]?.double ?? 0,
                    state: order["state"]?.string ?? "", scheduledStartMs: OdooDateTime.ms(order["date_start"]?.string),
                    outputTracking: Self.tracking(order["product_tracking"]), components: components,
                    operations: operations.sorted { $0.sequence < $1.sequence }, bom: bom.key,
                    bomRevision: bom.revision))
            if let changed { save(changed) }
            if let written = order["write_date"]?.string, written > (newest ?? "") { newest = written }
        }
        return newest
    }

    static func tracking(_ value: JSONValue?) -> WorkOrder.Tracking {
        switch value?.string {
        case "lot": .lot
        case "serial": .serial
        case "none": WorkOrder.Tracking.none
        default: .unspecified
        }
    }
}
