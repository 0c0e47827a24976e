/// A production order released by Odoo to the plant (`mes.v1.WorkOrder`).
public struct WorkOrder: Sendable, Hashable, Codable {
    public enum Tracking: Int32, Sendable, Hashable, Codable {
        case unspecified = 0, none, lot, serial
    }

    public struct Component: Sendable, Hashable, Codable {
        public var product: String
        public var qty: Double
        public var tracking: Tracking

        public init(product: String, qty: Double, tracking: Tracking) {
            self.product = product
            self.qty = qty
            self.tracking = tracking
        }
    }

    public struct Operation: Sendable, Hashable, Codable {
        public var sequence: UInt32
        public var name: String
        public var workCenter: String
        public var expectedMinutes: Double

        public init(sequence: UInt32, name: String, workCenter: String, expectedMinutes: Double) {
            self.sequence = sequence
            self.name = name
            self.workCenter = workCenter
            self.expectedMinutes = expectedMinutes
        }
    }

    /// Odoo's `mrp.production` name; events name it in `work_order`.
    public var id: String
    public var odooID: Int64
    public var product: String
    public var qty: Double
    /// Odoo's state: confirmed, progress, done, cancel.
    public var state: String
    public var scheduledStartMs: Int64
    public var outputTracking: Tracking
    public var components: [Component]
    public var operations: [Operation]
    /// Grows by one with every change mesgate sees.
    public var revision: UInt64

    public init(
        id: String, odooID: Int64, product: String, qty: Double, state: String, scheduledStartMs: Int64,
        outputTracking: Tracking, components: [Component], operations: [Operation], revision: UInt64 = 0
    ) {
        self.id = id
        self.odooID = odooID
        self.product = product
        self.qty = qty
        self.state = state
        self.scheduledStartMs = scheduledStartMs
        self.outputTracking = outputTracking
        self.components = components
        self.operations = operations
        self.revision = revision
    }

    /// Whether the plant may still work on it (Odoo's confirmed or progress).
    public var isReleased: Bool { state == "confirmed" || state == "progress" }

    /// Whether it passes a filter (empty fields match everything).
    public func matches(workCenter: String, product: String) -> Bool {
        (product.isEmpty || self.product == product)
            && (workCenter.isEmpty || operations.contains { $0.workCenter == workCenter })
    }
}
