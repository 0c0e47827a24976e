public import MESDomain

/// One validated event to store, with the protobuf bytes it came in and the client that sent it.
public struct IngestRequest: Sendable {
    public var event: Event
    /// The `mes.v1.Event` message as received, kept for audits and exports.
    public var raw: [UInt8]
    /// Who sent it (the authenticated client's name).
    public var client: String
    /// At the hub: the plant store that stored it first, and where. Such an event is stored under
    /// `<plant>/<event_id>`, once per (plant, sequence); it is not refused by a hold (the plant has
    /// decided), and makes no outbox row (the plant posts to Odoo).
    public var origin: EventOrigin?

    public init(event: Event, raw: [UInt8], client: String, origin: EventOrigin? = nil) {
        self.event = event
        self.raw = raw
        self.client = client
        self.origin = origin
    }

    /// The id the event is stored under: its own, or `<plant>/<event_id>` at the hub.
    public var storedEventID: String { origin?.storedID(of: event.eventID) ?? event.eventID }
}

/// A plant event as the hub receives it: the plant, the plant store's sequence and when the plant
/// stored it.
public struct EventOrigin: Sendable, Hashable {
    public var plant: String
    public var sequence: Int64
    public var recordedAtMs: Int64

    public init(plant: String, sequence: Int64, recordedAtMs: Int64) {
        self.plant = plant
        self.sequence = sequence
        self.recordedAtMs = recordedAtMs
    }

    /// The event id the hub stores a plant's event under.
    public func storedID(of eventID: String) -> String { "\(plant)/\(eventID)" }
}

/// What became of one submitted event, known after its batch committed (or failed).
public enum IngestOutcome: Sendable, Hashable {
    /// Stored with this commit sequence.
    case accepted(sequence: Int64)
    /// An event with the same `event_id` is stored already (or earlier in the batch): nothing stored.
    case duplicate(sequence: Int64)
    /// Not stored.
    case failed(GenealogyStoreError)
}

/// The answer of `submit`, right away.
public enum SubmitResult: Sendable, Hashable {
    /// Queued: the completion will run.
    case queued
    /// The queue is at capacity: the completion will not run; slow down and retry.
    case full
    /// The store is closing or closed: the completion will not run.
    case closed
}
