/// What an `HTTP2Session` announces in its first SETTINGS frame and how it manages windows.
public struct HTTP2Settings: Sendable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS: streams the peer may open at once.
    public var maxConcurrentStreams: Int = 100
    /// SETTINGS_INITIAL_WINDOW_SIZE: each stream's receive window.
    public var initialWindowBytes: Int = 65_535
    /// SETTINGS_MAX_HEADER_LIST_SIZE, also enforced on received request headers (server role):
    /// a stream whose header list (name + value + 32 per field) is larger is answered 431 and reset.
    public var maxHeaderListBytes: Int = 16 * 1024
    /// The connection receive window, raised with a WINDOW_UPDATE on stream 0 at start.
    public var connectionWindowBytes: Int = 65_535
    /// When false (the default), received DATA counts against the windows until the owner calls
    /// `HTTP2Session.consume(streamID:bytes:)` (NGHTTP2_OPT_NO_AUTO_WINDOW_UPDATE).
    public var automaticWindowUpdate: Bool = false
    /// Server role: RST_STREAMs a peer may send in a burst, and regained per second after it
    /// (nghttp2's token bucket; beyond it the connection gets GOAWAY). nghttp2's own defaults are
    /// 1000 and 33: a rapid-reset attacker then costs the server 1000 streams per connection.
    public var resetBurst: Int = 200
    public var resetsPerSecond: Int = 33
    /// CONTINUATION frames allowed after one HEADERS frame before the connection is closed.
    public var maxContinuations: Int = 8

    public init() {}
}
