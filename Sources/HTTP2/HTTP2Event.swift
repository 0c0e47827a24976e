internal import CNGHTTP2
public import NIOCore

/// What one call to `HTTP2Session.receive(_:)` found in the input, in wire order.
public enum HTTP2Event {
    /// A complete header block: request or response headers, or trailers.
    /// `endStream` is set when the HEADERS frame carried END_STREAM.
    case headers(streamID: Int32, headers: [HTTP2Header], endStream: Bool)
    /// A chunk of DATA payload (padding excluded). The bytes count against the flow-control
    /// windows until given back with `HTTP2Session.consume(streamID:bytes:)`.
    case data(streamID: Int32, bytes: ByteBuffer)
    /// A DATA frame carried END_STREAM: the peer finished sending on this stream.
    case endStream(streamID: Int32)
    /// The stream is closed (either side, any reason). `errorCode` is the HTTP/2 error code
    /// (0 NO_ERROR, 8 CANCEL, …).
    case streamClosed(streamID: Int32, errorCode: UInt32)
    /// The peer sent GOAWAY.
    case goAway(lastStreamID: Int32, errorCode: UInt32)
}

/// HTTP/2 error codes (RFC 9113 §7) used by this project.
public enum HTTP2ErrorCode {
    public static let noError: UInt32 = NGHTTP2_NO_ERROR.rawValue
    public static let protocolError: UInt32 = NGHTTP2_PROTOCOL_ERROR.rawValue
    public static let internalError: UInt32 = NGHTTP2_INTERNAL_ERROR.rawValue
    public static let refusedStream: UInt32 = NGHTTP2_REFUSED_STREAM.rawValue
    public static let cancel: UInt32 = NGHTTP2_CANCEL.rawValue
    public static let enhanceYourCalm: UInt32 = NGHTTP2_ENHANCE_YOUR_CALM.rawValue
}
