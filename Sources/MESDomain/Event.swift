/// One shop-floor event as the domain sees it: decoded, not yet validated.
public struct Event: Sendable, Hashable {
    public var eventID: String
    /// When it happened, Unix milliseconds UTC.
    public var occurredAtMs: Int64
    /// The plant's UTC offset at that time, like `+02:00`.
    public var tzOffset: String
    public var plant: String
    public var workCenter: String
    public var operatorID: String
    /// The released production order (Odoo's `mrp.production` name).
    public var workOrder: String
    /// What happened; `nil` when the client sent no body.
    public var body: EventBody?

    public init(
        eventID: String, occurredAtMs: Int64, tzOffset: String = "", plant: String = "",
        workCenter: String = "", operatorID: String = "", workOrder: String = "", body: EventBody?
    ) {
        self.eventID = eventID
        self.occurredAtMs = occurredAtMs
        self.tzOffset = tzOffset
        self.plant = plant
        self.workCenter = workCenter
        self.operatorID = operatorID
        self.workOrder = workOrder
        self.body = body
    }
}

/// The body of an event: exactly one of the contract's kinds.
public enum EventBody: Sendable, Hashable {
    case received(MaterialReceived)
    case consumed(MaterialConsumed)
    case produced(ProductionReported)
    case operation(OperationReported)
    case downtime(DowntimeReported)
    case quality(QualityResult)
    case shipped(Shipped)
    case scrapped(Scrapped)
    case packed(Packed)
    case moved(Moved)

    /// The body's field name in `mes.v1.Event`, used in field paths and the store's `kind` column.
    public var name: String {
        switch self {
        case .received: "received"
        case .consumed: "consumed"
        case .produced: "produced"
        case .operation: "operation"
        case .downtime: "downtime"
        case .quality: "quality"
        case .shipped: "shipped"
        case .scrapped: "scrapped"
        case .packed: "packed"
        case .moved: "moved"
        }
    }
}
