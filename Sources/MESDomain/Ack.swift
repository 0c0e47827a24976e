/// The answer to one published event.
public struct Ack: Sendable, Hashable {
    public enum Result: Int32, Sendable, Hashable {
        case accepted = 1, duplicate, rejected
    }
    public var eventID: String
    public var result: Result
    /// The store's commit sequence; the original's for a duplicate, 0 when rejected.
    public var sequence: Int64
    public var reason: String
    /// The offending field path when rejected, like `consumed.qty.value`.
    public var field: String

    public init(eventID: String, result: Result, sequence: Int64 = 0, reason: String = "", field: String = "") {
        self.eventID = eventID
        self.result = result
        self.sequence = sequence
        self.reason = reason
        self.field = field
    }

    public static func rejected(_ eventID: String, _ error: EventValidationError) -> Ack {
        Ack(eventID: eventID, result: .rejected, reason: error.reason, field: error.field)
    }
}
