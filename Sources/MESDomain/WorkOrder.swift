/// A production order released by Odoo to the plant (`mes.v1.WorkOrder`).
public struct WorkOrder: Sendable, Hashable, Codable {
    public enum Tracking: Int32, Sendable, Hashable, Codable {
        case unspecified = 0, none, lot, serial
    }

    public struct Component: Sendable, Hashable, Codable {
        public var product: String
        public var qty: Double
        public var tracking: Tracking
        /// What Odoo had of the product on hand when the order was last read (`qty_available`, in
        /// the product's unit); nil when not read.
        public var available: Double?

        public init(product: String, qty: Double, tracking: Tracking, available: Double? = nil) {
            self.product = product
            self.qty = qty
            self.tracking = tracking
            self.available = available
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
    /// The BoM it was released with (its master data key: Odoo's `mrp.bom` id), empty when none.
    public var bom: String
    /// That BoM's revision when mesgate first saw the order released (master data; 0 when unknown).
    public var bomRevision: UInt64

    public init(
        id: String, odooID: Int64, product: String, qty: Double, state: String, scheduledStartMs: Int64,
        outputTracking: Tracking, components: [Component], operations: [Operation], revision: UInt64 = 0,
        bom: String = "", bomRevision: UInt64 = 0
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
        self.bom = bom
        self.bomRevision = bomRevision
    }

    /// Reads an order as stored by any version (orders stored before master data name no BoM).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(String.self, forKey: .id), odooID: try c.decode(Int64.self, forKey: .odooID),
            product: try c.decode(String.self, forKey: .product), qty: try c.decode(Double.self, forKey: .qty),
            state: try c.decode(String.self, forKey: .state),
            scheduledStartMs: try c.decode(Int64.self, forKey: .scheduledStartMs),
            outputTracking: try c.decode(Tracking.self, forKey: .outputTracking),
            components: try c.decode([Component].self, forKey: .components),
            operations: try c.decode([Operation].self, forKey: .operations),
            revision: try c.decode(UInt64.self, forKey: .revision),
            bom: try c.decodeIfPresent(String.self, forKey: .bom) ?? "",
            bomRevision: try c.decodeIfPresent(UInt64.self, forKey: .bomRevision) ?? 0)
    }

    /// Whether the plant may still work on it (Odoo's confirmed or progress).
    public var isReleased: Bool { state == "confirmed" || state == "progress" }

    /// Whether it passes a filter (empty fields match everything).
    public func matches(workCenter: String, product: String) -> Bool {
        (product.isEmpty || self.product == product)
            && (workCenter.isEmpty || operations.contains { $0.workCenter == workCenter })
    }
}
