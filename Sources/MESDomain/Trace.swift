/// Which way a trace walks the genealogy: what went into a lot, or where it went.
public enum TraceDirection: Int32, Sendable, Hashable {
    case unspecified = 0
    /// What went into the lot: components, suppliers, purchase orders (root cause).
    case backward = 1
    /// Where the lot went: products made from it, containers, customers (recall).
    case forward = 2
}

/// A trace question: start lot, direction and limits (0 means no limit).
public struct TraceRequest: Sendable, Hashable {
    public var lot: LotRef
    public var direction: TraceDirection
    public var maxDepth: Int
    public var maxNodes: Int

    public init(lot: LotRef, direction: TraceDirection, maxDepth: Int = 0, maxNodes: Int = 0) {
        self.lot = lot
        self.direction = direction
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
    }
}

/// One node of a trace's graph: a lot, serial or container (`lot` set) or a production order
/// (`workOrder` set, `lot` nil).
public struct TraceNodeRef: Sendable, Hashable, CustomStringConvertible {
    public var lot: LotRef?
    public var workOrder: String

    public init(lot: LotRef?, workOrder: String = "") {
        self.lot = lot
        self.workOrder = workOrder
    }

    public var description: String { lot.map { "\($0)" } ?? "order \(workOrder)" }
}

/// A node reached by a trace, with its distance from the start and its status (`active`,
/// `shipped`, `scrapped`, `hold`; orders are `order`).
public struct TraceNode: Sendable, Hashable {
    public var ref: TraceNodeRef
    public var depth: Int
    public var status: String
    /// The plant where the node first appeared; "" when the store does not know it
    /// (genealogy/MODEL.md, "Many plants").
    public var plant: String

    public init(ref: TraceNodeRef, depth: Int, status: String, plant: String = "") {
        self.ref = ref
        self.depth = depth
        self.status = status
        self.plant = plant
    }
}

/// "from went into to": `kind` is direct, order_input, order_output, containment or split.
public struct TraceEdge: Sendable, Hashable {
    public var from: TraceNodeRef
    public var to: TraceNodeRef
    public var kind: String
    public var qty: Quantity?
    public var workOrder: String
    /// The plant of the event that made the edge; "" when unknown.
    public var plant: String
    /// Where `from` and `to` are in the result's `nodes`, when the store built the result (nil
    /// when it came off the wire): lets an encoder write each node's reference once and point
    /// every edge at it.
    public var nodePositions: (from: Int, to: Int)?

    public init(
        from: TraceNodeRef, to: TraceNodeRef, kind: String, qty: Quantity?, workOrder: String, plant: String = "",
        nodePositions: (from: Int, to: Int)? = nil
    ) {
        self.from = from
        self.to = to
        self.kind = kind
        self.qty = qty
        self.workOrder = workOrder
        self.plant = plant
        self.nodePositions = nodePositions
    }

    /// Equal edges join equal nodes the same way; where the nodes sit in a result does not count.
    public static func == (a: TraceEdge, b: TraceEdge) -> Bool {
        a.from == b.from && a.to == b.to && a.kind == b.kind && a.qty == b.qty && a.workOrder == b.workOrder
            && a.plant == b.plant
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(from)
        hasher.combine(to)
        hasher.combine(kind)
        hasher.combine(qty)
        hasher.combine(workOrder)
        hasher.combine(plant)
    }
}

/// A supplier receipt reached by a backward trace.
public struct TraceReceipt: Sendable, Hashable {
    public var lot: LotRef
    public var supplier: String
    public var supplierLot: String
    public var purchaseOrder: String
    public var qty: Quantity?
    /// The plant that received it; "" when unknown.
    public var plant: String

    public init(
        lot: LotRef, supplier: String, supplierLot: String, purchaseOrder: String, qty: Quantity?, plant: String = ""
    ) {
        self.lot = lot
        self.supplier = supplier
        self.supplierLot = supplierLot
        self.purchaseOrder = purchaseOrder
        self.qty = qty
        self.plant = plant
    }
}

/// A customer shipment reached by a forward trace (of the lot itself or of a container it was in).
public struct TraceShipment: Sendable, Hashable {
    public var lot: LotRef
    public var customer: String
    public var delivery: String
    public var qty: Quantity?
    /// The plant that shipped it; "" when unknown.
    public var plant: String

    public init(lot: LotRef, customer: String, delivery: String, qty: Quantity?, plant: String = "") {
        self.lot = lot
        self.customer = customer
        self.delivery = delivery
        self.qty = qty
        self.plant = plant
    }
}

/// The answer to a trace. `truncated` says a limit cut the walk short.
public struct TraceResult: Sendable, Hashable {
    public var nodes: [TraceNode]
    public var edges: [TraceEdge]
    public var receipts: [TraceReceipt]
    public var shipments: [TraceShipment]
    public var truncated: Bool

    public init(
        nodes: [TraceNode] = [], edges: [TraceEdge] = [], receipts: [TraceReceipt] = [],
        shipments: [TraceShipment] = [], truncated: Bool = false
    ) {
        self.nodes = nodes
        self.edges = edges
        self.receipts = receipts
        self.shipments = shipments
        self.truncated = truncated
    }
}

/// A quality hold to place or release: the lot, why, and whether it reaches everything made from it.
/// What people need to know after a hold or a release beyond what it changed: what already
/// shipped (a recall), and what another hold covers.
public struct HoldFollowUp: Sendable, Hashable {
    /// Held items already shipped, with customer and delivery.
    public var shipped: [TraceShipment]
    /// Covered items another open hold (also) covers.
    public var stillHeld: [LotRef]

    public init(shipped: [TraceShipment] = [], stillHeld: [LotRef] = []) {
        self.shipped = shipped
        self.stillHeld = stillHeld
    }
}

/// At the enterprise hub: a hold (or its release) at one plant it concerns.
public struct PlantHoldState: Sendable, Hashable {
    public var plant: String
    /// The lots it holds there (the plant propagates from them).
    public var lots: Int
    /// The plant has committed it.
    public var applied: Bool

    public init(plant: String, lots: Int, applied: Bool) {
        self.plant = plant
        self.lots = lots
        self.applied = applied
    }
}

public struct HoldRequest: Sendable, Hashable {
    public var lot: LotRef
    public var reason: String
    public var propagate: Bool

    public init(lot: LotRef, reason: String, propagate: Bool = true) {
        self.lot = lot
        self.reason = reason
        self.propagate = propagate
    }
}
