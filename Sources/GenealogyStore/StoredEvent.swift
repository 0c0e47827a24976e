public import MESDomain

/// One stored event, as the CLI and tests read it back.
public struct StoredEvent: Sendable, Hashable {
    public var sequence: Int64
    public var eventID: String
    /// The body's name: received, consumed, produced, …
    public var kind: String
    public var client: String
    public var recordedAtMs: Int64
    /// The `mes.v1.Event` message as received.
    public var raw: [UInt8]
    /// The plant of the event (genealogy/MODEL.md, "Many plants"); "" when unknown. Filled by lot
    /// histories and exports.
    public var plant: String
    /// How the event was voided or replaced (EventIngest/Correct); nil while it counts. Filled by
    /// lot histories and exports.
    public var correction: CorrectionMark?
    /// The event this one replaces (its event id); "" for an event that replaces none.
    public var corrects = ""

    public init(
        sequence: Int64, eventID: String, kind: String, client: String, recordedAtMs: Int64, raw: [UInt8],
        plant: String = ""
    ) {
        self.sequence = sequence
        self.eventID = eventID
        self.kind = kind
        self.client = client
        self.recordedAtMs = recordedAtMs
        self.raw = raw
        self.plant = plant
    }
}

/// A stored event that needs a person's attention, like a consumption of a lot never received.
public struct StoreException: Sendable, Hashable {
    /// The kinds the store writes.
    public enum Kind {
        /// An input (consumed, shipped, scrapped, packed, moved) names a lot, serial or container the
        /// store never saw created.
        public static let unknownLot = ExceptionKind.unknownLot.rawValue
        /// A tracked consumption with neither `into` nor a work order: it makes no genealogy edge.
        public static let unlinkedConsumption = ExceptionKind.unlinkedConsumption.rawValue
        /// A Packed DELETE for an item that is not in the container.
        public static let notInContainer = ExceptionKind.notInContainer.rawValue
    }

    public var id: Int64
    public var kind: String
    /// The event's commit sequence.
    public var sequence: Int64
    public var eventID: String
    /// The node concerned, when there is one.
    public var nodeID: Int64?
    public var detail: String
    public var createdAtMs: Int64

    public init(
        id: Int64, kind: String, sequence: Int64, eventID: String, nodeID: Int64?, detail: String, createdAtMs: Int64
    ) {
        self.id = id
        self.kind = kind
        self.sequence = sequence
        self.eventID = eventID
        self.nodeID = nodeID
        self.detail = detail
        self.createdAtMs = createdAtMs
    }
}

/// A page of a lot's history (`GenealogyStore.lotHistoryPage`).
public struct LotHistoryPage: Sendable {
    /// Oldest first.
    public var events: [StoredEvent]
    /// The newest sequence the history covers: pass it back with the next page.
    public var through: Int64
    /// No events follow this page.
    public var isLast: Bool

    public init(events: [StoredEvent], through: Int64, isLast: Bool) {
        self.events = events
        self.through = through
        self.isLast = isLast
    }
}
