internal import CNGHTTP2

/// A failed nghttp2 call: the C error code, nghttp2's text for it, and the call that failed.
/// Carries no payload bytes.
public struct HTTP2Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// The negative `nghttp2_error` code (for example -505 NGHTTP2_ERR_PROTO, -903 NGHTTP2_ERR_BAD_CLIENT_MAGIC).
    public var code: Int32
    /// The nghttp2 function that returned it.
    public var operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// nghttp2's own words for `code`.
    public var message: String { String(cString: nghttp2_strerror(code)) }

    /// True when nghttp2 says the session can no longer be used (`nghttp2_is_fatal`).
    public var isFatal: Bool { nghttp2_is_fatal(code) != 0 }

    /// True when the peer did not start with the HTTP/2 client preface.
    public var isBadClientMagic: Bool { code == NGHTTP2_ERR_BAD_CLIENT_MAGIC.rawValue }

    public var description: String { "\(operation): \(message) (\(code))" }
}

/// Throws `HTTP2Error` for a negative return code.
@inline(__always)
func check(_ rv: Int32, _ operation: StaticString) throws(HTTP2Error) {
    if rv < 0 { throw HTTP2Error(code: rv, operation: "\(operation)") }
}
