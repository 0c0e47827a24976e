/// One header field as sent or received. Names are lower-case on the wire in HTTP/2.
public struct HTTP2Header: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

extension [HTTP2Header] {
    /// The first value of `name`, if present.
    public func first(_ name: String) -> String? {
        first(where: { $0.name == name })?.value
    }
}
