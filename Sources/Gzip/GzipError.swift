/// A zlib failure while compressing or decompressing a gzip message. Carries no payload bytes.
public struct GzipError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// The input is not valid gzip data (Z_DATA_ERROR, truncated input, trailing bytes).
        case corrupt
        /// The output would exceed the caller's limit (a zip bomb, or simply too large).
        case tooLarge
        /// zlib ran out of memory (Z_MEM_ERROR) or reported an unexpected state.
        case resources
    }

    public var code: Code
    /// zlib's return code, when one caused this.
    public var zlibCode: Int32
    public var message: String

    public init(_ code: Code, zlibCode: Int32 = 0, _ message: String) {
        self.code = code
        self.zlibCode = zlibCode
        self.message = message
    }

    public var description: String { "gzip: \(message) (zlib \(zlibCode))" }
}
