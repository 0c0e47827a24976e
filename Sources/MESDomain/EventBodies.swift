/// Material received from a supplier against a purchase order.
public struct MaterialReceived: Sendable, Hashable {
    public var lot: LotRef
    public var qty: Quantity?
    public var supplier: String
    public var supplierLot: String
    public var purchaseOrder: String
    public var location: String

    public init(
        lot: LotRef, qty: Quantity?, supplier: String = "", supplierLot: String = "",
        purchaseOrder: String = "", location: String = ""
    ) {
        self.lot = lot
        self.qty = qty
        self.supplier = supplier
        self.supplierLot = supplierLot
        self.purchaseOrder = purchaseOrder
        self.location = location
    }
}

/// A component consumed by a work order; `into` (optional) names the output it went into.
public struct MaterialConsumed: Sendable, Hashable {
    public var component: LotRef
    public var qty: Quantity?
    public var into: LotRef?

    public init(component: LotRef, qty: Quantity?, into: LotRef? = nil) {
        self.component = component
        self.qty = qty
        self.into = into
    }
}

/// Output reported by a work order.
public struct ProductionReported: Sendable, Hashable {
    public var output: LotRef
    public var good: Quantity?
    public var scrap: Quantity?
    public var location: String

    public init(output: LotRef, good: Quantity?, scrap: Quantity? = nil, location: String = "") {
        self.output = output
        self.good = good
        self.scrap = scrap
        self.location = location
    }
}

/// Progress of one operation of a work order.
public struct OperationReported: Sendable, Hashable {
    public enum State: Int32, Sendable, Hashable {
        case unspecified = 0, started, paused, resumed, completed
    }
    public var operation: String
    public var state: State
    public var good: Quantity?
    public var scrap: Quantity?

    public init(operation: String, state: State, good: Quantity? = nil, scrap: Quantity? = nil) {
        self.operation = operation
        self.state = state
        self.good = good
        self.scrap = scrap
    }
}

/// A stop of a work center; `endedAtMs` is 0 while it is open.
public struct DowntimeReported: Sendable, Hashable {
    public enum Loss: Int32, Sendable, Hashable {
        case unspecified = 0, availability, performance, quality
    }
    public var reason: String
    public var loss: Loss
    public var startedAtMs: Int64
    public var endedAtMs: Int64

    public init(reason: String, loss: Loss, startedAtMs: Int64, endedAtMs: Int64 = 0) {
        self.reason = reason
        self.loss = loss
        self.startedAtMs = startedAtMs
        self.endedAtMs = endedAtMs
    }
}

/// The outcome of a quality check on a lot.
public struct QualityResult: Sendable, Hashable {
    public enum Outcome: Int32, Sendable, Hashable {
        case unspecified = 0, pass, fail, warn
    }
    public struct Measurement: Sendable, Hashable {
        public var name: String
        public var value: Double
        public var unit: String
        public var lower: Double
        public var upper: Double

        public init(name: String, value: Double, unit: String = "", lower: Double = 0, upper: Double = 0) {
            self.name = name
            self.value = value
            self.unit = unit
            self.lower = lower
            self.upper = upper
        }
    }
    public var lot: LotRef
    public var check: String
    public var outcome: Outcome
    public var measurements: [Measurement]

    public init(lot: LotRef, check: String, outcome: Outcome, measurements: [Measurement] = []) {
        self.lot = lot
        self.check = check
        self.outcome = outcome
        self.measurements = measurements
    }
}

/// Material shipped to a customer.
public struct Shipped: Sendable, Hashable {
    public var lot: LotRef
    public var qty: Quantity?
    public var customer: String
    public var delivery: String
    public var destination: String

    public init(lot: LotRef, qty: Quantity?, customer: String, delivery: String = "", destination: String = "") {
        self.lot = lot
        self.qty = qty
        self.customer = customer
        self.delivery = delivery
        self.destination = destination
    }
}

/// Material scrapped outside a production report.
public struct Scrapped: Sendable, Hashable {
    public var lot: LotRef
    public var qty: Quantity?
    public var reason: String

    public init(lot: LotRef, qty: Quantity?, reason: String = "") {
        self.lot = lot
        self.qty = qty
        self.reason = reason
    }
}

/// Material packed into (add) or unpacked from (delete) a container.
public struct Packed: Sendable, Hashable {
    public enum Action: Int32, Sendable, Hashable {
        case unspecified = 0, add, delete
    }
    public var container: LotRef
    public var contents: [LotRef]
    public var action: Action

    public init(container: LotRef, contents: [LotRef], action: Action) {
        self.container = container
        self.contents = contents
        self.action = action
    }
}

/// Material moved between locations; with `newLot`, a split into a new lot.
public struct Moved: Sendable, Hashable {
    public var lot: LotRef
    public var qty: Quantity?
    public var fromLocation: String
    public var toLocation: String
    public var newLot: LotRef?

    public init(lot: LotRef, qty: Quantity?, fromLocation: String = "", toLocation: String = "", newLot: LotRef? = nil)
    {
        self.lot = lot
        self.qty = qty
        self.fromLocation = fromLocation
        self.toLocation = toLocation
        self.newLot = newLot
    }
}
