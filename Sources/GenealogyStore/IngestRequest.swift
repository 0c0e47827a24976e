public import MESDomain

/// One validated event to store, with the protobuf bytes it came in and the client that sent it.
public struct IngestRequest: Sendable {
    public var event: Event
    /// The `mes.v1.Event` message as received, kept for audits and exports.
    public var raw: [UInt8]
    /// Who sent it (the authenticated client's name).
    public var client: String

    public init(event: Event, raw: [UInt8], client: String) {
        self.event = event
        self.raw = raw
        self.client = client
    }
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
