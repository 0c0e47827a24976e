internal import CNGHTTP2
public import NIOCore

#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif

/// One HTTP/2 connection's framing state: an owned `nghttp2_session` (freed in `deinit`).
///
/// Confined to one thread (the connection's event loop); deliberately not `Sendable`. The owner
/// feeds received bytes to `receive(_:)`, writes what `drainOutput(into:)` produces, and acts on the
/// returned `HTTP2Event`s. nghttp2 callbacks only record events and copy bytes; no owner code runs
/// inside them and no Swift error crosses into C.
///
/// The mutable state below skips the runtime's exclusivity check (`@exclusivity(unchecked)`, about
/// a tenth of a Health/Check call's CPU went to those checks): the session is confined to one
/// thread, and no access to these properties is held across a call into nghttp2 (whose
/// callbacks touch them) or into owner code, so two accesses never overlap.
public final class HTTP2Session {
    /// Which end of the connection this session is.
    public enum Role: Sendable { case server, client }

    public let role: Role
    let session: OpaquePointer
    let maxHeaderListBytes: Int
    let allocator = ByteBufferAllocator()
    /// Events recorded by callbacks, handed out by `receive` and `drainOutput`.
    @exclusivity(unchecked) var events: [HTTP2Event] = []
    /// The header block being received: HTTP/2 never interleaves two (a HEADERS frame's
    /// CONTINUATIONs follow it directly), so one is enough and is reused for every block.
    @exclusivity(unchecked) var incoming = IncomingHeaders()
    /// Header strings seen lately, reused when the same bytes come again (see `RecentStrings`).
    @exclusivity(unchecked) var recentStrings = RecentStrings()
    /// The bytes `receive` is feeding to nghttp2 and where they start: DATA payloads are handed
    /// out as slices of them rather than copies (see the data chunk callback).
    @exclusivity(unchecked) var input: ByteBuffer?
    @exclusivity(unchecked) var inputBase: UnsafeRawPointer?
    /// Bodies being sent through a data provider, by stream.
    @exclusivity(unchecked) var outbound = StreamIDMap<OutboundStream>()
    /// Bodies of finished streams kept for new ones (see `recycle`).
    @exclusivity(unchecked) var spareOutbound: [OutboundStream] = []
    /// Streams to reset with NO_ERROR once our END_STREAM is out, if the peer is still sending.
    @exclusivity(unchecked) var resetAfterEndStream = StreamIDSet()

    /// Creates the session and queues its SETTINGS (and, for a client, the connection preface).
    public init(role: Role, settings: HTTP2Settings = HTTP2Settings()) throws(HTTP2Error) {
        self.role = role
        self.maxHeaderListBytes = settings.maxHeaderListBytes

        var callbacks: OpaquePointer?
        // nghttp2_session_callbacks_new: 0 or NGHTTP2_ERR_NOMEM.
        try check(nghttp2_session_callbacks_new(&callbacks), "nghttp2_session_callbacks_new")
        defer { nghttp2_session_callbacks_del(callbacks) }
        HTTP2Session.install(callbacks)

        var option: OpaquePointer?
        // nghttp2_option_new: 0 or NGHTTP2_ERR_NOMEM.
        try check(nghttp2_option_new(&option), "nghttp2_option_new")
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_no_auto_window_update(option, settings.automaticWindowUpdate ? 0 : 1)
        // Both exist in Debian's 1.52 build (the rapid-reset and CONTINUATION-flood fixes).
        nghttp2_option_set_stream_reset_rate_limit(
            option, UInt64(clamping: settings.resetBurst), UInt64(clamping: settings.resetsPerSecond))
        nghttp2_option_set_max_continuations(option, settings.maxContinuations)

        var created: OpaquePointer?
        // nghttp2_session_{server,client}_new2: 0 or NGHTTP2_ERR_NOMEM. user_data is set below,
        // once self is fully initialised.
        switch role {
        case .server:
            try check(nghttp2_session_server_new2(&created, callbacks, nil, option), "nghttp2_session_server_new2")
        case .client:
            try check(nghttp2_session_client_new2(&created, callbacks, nil, option), "nghttp2_session_client_new2")
        }
        guard let created else { throw HTTP2Error(code: NGHTTP2_ERR_NOMEM.rawValue, operation: "nghttp2_session_new") }
        self.session = created
        nghttp2_session_set_user_data(session, Unmanaged.passUnretained(self).toOpaque())

        var entries = [
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                value: UInt32(clamping: settings.maxConcurrentStreams)),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                value: UInt32(clamping: min(settings.initialWindowBytes, Int(Int32.max)))),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue),
                value: UInt32(clamping: settings.maxHeaderListBytes)),
        ]
        // nghttp2_submit_settings: 0, NGHTTP2_ERR_INVALID_ARGUMENT (bad value), NGHTTP2_ERR_NOMEM.
        try check(
            nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count),
            "nghttp2_submit_settings")
        if settings.connectionWindowBytes > 65_535 {
            // nghttp2_session_set_local_window_size: 0, NGHTTP2_ERR_INVALID_ARGUMENT
            // (size out of range), NGHTTP2_ERR_NOMEM. Queues WINDOW_UPDATE on stream 0.
            try check(
                nghttp2_session_set_local_window_size(
                    session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, Int32(clamping: settings.connectionWindowBytes)),
                "nghttp2_session_set_local_window_size")
        }
    }

    deinit {
        nghttp2_session_del(session)
    }

    /// Feeds received bytes to nghttp2 and returns what they carried, in order.
    /// A thrown error is fatal for the connection (bad preface, flood, protocol error): drain the
    /// output once more (it may hold a GOAWAY) and close.
    public func receive(_ bytes: ByteBuffer) throws(HTTP2Error) -> [HTTP2Event] {
        input = bytes
        defer {
            input = nil
            inputBase = nil
        }
        let rv = bytes.withUnsafeReadableBytes { raw -> Int in
            guard let base = raw.baseAddress, raw.count > 0 else { return 0 }
            inputBase = base
            // nghttp2_session_mem_recv: bytes processed, or NGHTTP2_ERR_NOMEM,
            // NGHTTP2_ERR_CALLBACK_FAILURE, NGHTTP2_ERR_BAD_CLIENT_MAGIC, NGHTTP2_ERR_FLOODED
            // (all fatal). NGHTTP2_ERR_PAUSE is never used here.
            return nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), raw.count)
        }
        if rv < 0 {
            events.removeAll()
            throw HTTP2Error(code: Int32(clamping: rv), operation: "nghttp2_session_mem_recv")
        }
        return takeEvents()
    }

    /// Appends every frame nghttp2 has ready to `buffer`; returns events that sending caused
    /// (streams that closed because our END_STREAM or RST_STREAM went out).
    public func drainOutput(into buffer: inout ByteBuffer) throws(HTTP2Error) -> [HTTP2Event] {
        while true {
            var data: UnsafePointer<UInt8>?
            // nghttp2_session_mem_send: bytes ready (0 = nothing more), or NGHTTP2_ERR_NOMEM,
            // NGHTTP2_ERR_CALLBACK_FAILURE (both fatal). The pointer is valid until the next call.
            let n = nghttp2_session_mem_send(session, &data)
            if n < 0 { throw HTTP2Error(code: Int32(clamping: n), operation: "nghttp2_session_mem_send") }
            guard n > 0, let data else { break }
            buffer.writeBytes(UnsafeRawBufferPointer(start: data, count: n))
        }
        return takeEvents()
    }

    /// True while nghttp2 wants more input; false after GOAWAY exchange or a fatal error.
    public var wantsRead: Bool { nghttp2_session_want_read(session) != 0 }
    /// True while nghttp2 has frames to send or streams to serve.
    public var wantsWrite: Bool { nghttp2_session_want_write(session) != 0 }

    /// Gives `bytes` of a stream's received DATA back to the peer's stream and connection windows.
    /// Works after the stream closed too (then only the connection window is updated).
    public func consume(streamID: Int32, bytes: Int) throws(HTTP2Error) {
        guard bytes > 0 else { return }
        // nghttp2_session_consume: 0, NGHTTP2_ERR_NOMEM, NGHTTP2_ERR_INVALID_ARGUMENT (stream 0),
        // NGHTTP2_ERR_INVALID_STATE (automatic window update is on). A closed stream only
        // credits the connection window, like nghttp2_session_consume_connection.
        try check(nghttp2_session_consume(session, streamID, bytes), "nghttp2_session_consume")
    }

    /// How many more bytes we may send on `streamID` (the peer's window), or nil for an unknown stream.
    public func remoteWindow(streamID: Int32) -> Int? {
        let n = nghttp2_session_get_stream_remote_window_size(session, streamID)
        return n < 0 ? nil : Int(n)
    }

    /// How many more bytes the peer may send us on `streamID`, or nil for an unknown stream.
    public func localWindow(streamID: Int32) -> Int? {
        let n = nghttp2_session_get_stream_local_window_size(session, streamID)
        return n < 0 ? nil : Int(n)
    }

    /// Body bytes queued on `streamID` that nghttp2 has not taken yet (waiting for the peer's window).
    public func pendingOutboundBytes(streamID: Int32) -> Int {
        outbound[streamID]?.pending.readableBytes ?? 0
    }

    /// The highest stream ID the peer opened and we processed.
    public var lastProcessedStreamID: Int32 { nghttp2_session_get_last_proc_stream_id(session) }

    func takeEvents() -> [HTTP2Event] {
        // Nothing to hand out: the empty array, no allocation (clearing an array whose storage
        // was handed out allocates a new one).
        if events.isEmpty { return [] }
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }
}

/// The header block on its way in: its stream, fields and size as counted by RFC 9113 §6.5.2.
struct IncomingHeaders {
    /// 0 when no block is being received.
    var streamID: Int32 = 0
    var headers: [HTTP2Header] = []
    var size = 0
    var tooLarge = false

    /// Starts the block of `streamID`, with room for a typical request's fields.
    mutating func begin(streamID: Int32) {
        self = IncomingHeaders(streamID: streamID)
        headers.reserveCapacity(12)
    }
}

/// The last few header strings seen on the connection, reused when the same bytes come again:
/// clients repeat `:path`, `content-type`, `user-agent` on every request, and making a String
/// validates its UTF-8 and, over 15 bytes, allocates. A small ring: bounded whatever the peer sends.
struct RecentStrings {
    private var strings: [String] = []
    private var next = 0
    /// Where the last match was: a client sends its fields in the same order every time, so the
    /// entry after it is tried first.
    private var hint = 0
    static let capacity = 32

    /// The string of `bytes` (UTF-8, invalid sequences repaired), reused when seen lately.
    mutating func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        if let base = bytes.baseAddress, !strings.isEmpty {
            let first = hint + 1 < strings.count ? hint + 1 : 0
            // Through the buffer: its elements are compared in place, not copied out (retained)
            // one per probe as the array's subscript does.
            let found = strings.withUnsafeBufferPointer { strings in
                (0..<strings.count).lazy.map { (first + $0) % strings.count }.first {
                    Self.equal(strings[$0], base, bytes.count)
                }
            }
            if let found {
                hint = found
                return strings[found]
            }
        }
        let made = String(decoding: bytes, as: UTF8.self)
        if strings.count < Self.capacity {
            strings.append(made)
            hint = strings.count - 1
        } else {
            strings[next] = made
            hint = next
            next = (next + 1) % Self.capacity
        }
        return made
    }

    private static func equal(_ candidate: String, _ bytes: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        guard candidate.utf8.count == count else { return false }
        guard count > 0 else { return true }  // both empty
        let same = candidate.utf8.withContiguousStorageIfAvailable { stored in
            stored.baseAddress.map { memcmp($0, bytes, count) == 0 } ?? false
        }
        return same == true
    }
}

/// A body on its way out through an `nghttp2_data_provider`.
final class OutboundStream {
    var pending: ByteBuffer
    /// Set when the body is complete; then `trailers` (if any) follow the last DATA frame.
    var ending = false
    var trailers: [HTTP2Header] = []
    /// True while the read callback returned NGHTTP2_ERR_DEFERRED and waits for resume.
    var deferred = false

    init(allocator: ByteBufferAllocator) {
        // Room for a typical gRPC response (prefix and a small message) without growing.
        self.pending = allocator.buffer(capacity: 256)
    }
}
