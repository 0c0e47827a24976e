/// One exception as stored (`exceptions`), as the stream, the status page and the CLI show it.
public struct PlantException: Sendable, Hashable {
    public var id: Int64
    /// An `ExceptionKind` raw value (a kind of a newer build is kept as its name).
    public var kind: String
    public var state: ExceptionState
    /// immediate, normal or batch (an `ExceptionLatency` raw value).
    public var latency: String
    /// The event that raised it (0 and "" when none did).
    public var sequence: Int64 = 0
    public var eventID: String = ""
    public var workOrder: String = ""
    public var workCenter: String = ""
    /// The lot, serial or container concerned, as people read it (`FLOUR lot F1`; `LotRef.description`).
    public var lot: String = ""
    public var detail: String = ""
    public var createdAtMs: Int64
    public var acknowledgedAtMs: Int64?
    public var acknowledgedBy: String = ""
    public var acknowledgeReason: String = ""
    public var closedAtMs: Int64?
    public var closedBy: String = ""
    public var closeReason: String = ""

    public init(id: Int64, kind: String, state: ExceptionState, latency: String, createdAtMs: Int64) {
        self.id = id
        self.kind = kind
        self.state = state
        self.latency = latency
        self.createdAtMs = createdAtMs
    }

    /// The kind's line saying what to do; empty for a kind this build does not know.
    public var action: String { ExceptionKind(rawValue: kind)?.action ?? "" }
}
