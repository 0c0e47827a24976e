/// Why protobuf bytes could not be turned into a domain value. Never carries the bytes.
public struct MessageDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The field path (as in the .proto) that was bad; empty when the whole message was unreadable.
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    static func malformed(_ message: String) -> MessageDecodingError {
        .init(field: "", reason: "is not a valid \(message) protobuf message")
    }

    public var description: String { field.isEmpty ? reason : "\(field): \(reason)" }
}
