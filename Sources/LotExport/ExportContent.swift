public import GenealogyStore
public import MESDomain
import MESMessages

/// A stored event with its decoded `mes.v1.Event`.
public struct ExportedEvent: Sendable {
    public var stored: StoredEvent
    public var event: Event

    /// The plant's offset of the event.
    var time: LocalTime { LocalTime(offset: event.tzOffset) }

    /// Where it happened: the event's own `plant`, else the store's plant of it (at a hub, the
    /// plant it came from; genealogy/MODEL.md, "Many plants").
    var place: String { event.plant.isEmpty ? stored.plant : event.plant }
}

/// Everything a writer needs: the start lot, the traces, the decoded events, the holds.
public struct ExportContent: Sendable {
    public var start: LotRef
    /// `.unspecified` for both directions.
    public var direction: TraceDirection
    public var backward: TraceResult?
    public var forward: TraceResult?
    public var events: [ExportedEvent]
    public var holds: [StoredHold]
    /// Events whose stored bytes did not decode (counted in the documents, never silently dropped).
    public var undecodable: [StoredEvent]
    /// When the export was made (Unix milliseconds UTC).
    public var createdAtMs: Int64

    /// Decodes the stored events of `source`.
    public init(source: ExportSource, direction: TraceDirection, createdAtMs: Int64) {
        start = source.start
        self.direction = direction
        backward = source.backward
        forward = source.forward
        holds = source.holds
        self.createdAtMs = createdAtMs
        var events: [ExportedEvent] = []
        var undecodable: [StoredEvent] = []
        events.reserveCapacity(source.events.count)
        for stored in source.events {
            do {
                let event = try stored.raw.withUnsafeBytes { bytes throws(MessageDecodingError) in
                    try EventCodec.decode(bytes)
                }
                events.append(ExportedEvent(stored: stored, event: event))
            } catch {
                undecodable.append(stored)
            }
        }
        self.events = events
        self.undecodable = undecodable
    }

    /// Whether a node limit cut a trace short.
    public var truncated: Bool { (backward?.truncated ?? false) || (forward?.truncated ?? false) }

    /// Lots, serials and containers reached (the start among them), each once.
    public var items: [TraceNode] {
        var seen: Set<TraceNodeRef> = []
        var nodes: [TraceNode] = []
        for result in [backward, forward].compactMap({ $0 }) {
            for node in result.nodes where node.ref.lot != nil && seen.insert(node.ref).inserted {
                nodes.append(node)
            }
        }
        return nodes
    }

    /// "forward", "backward" or "both directions".
    var directionText: String {
        switch direction {
        case .backward: "backward (what went into it)"
        case .forward: "forward (where it went)"
        case .unspecified: "both directions (what went into it and where it went)"
        }
    }
}
