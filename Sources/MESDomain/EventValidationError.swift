/// Why an event was refused: the offending field path (as in `mes.v1.Event`, like
/// `consumed.qty.value`) and a reason a person can act on. Never contains payload values.
public struct EventValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}
