internal import CNGHTTP2
public import NIOCore

extension HTTP2Session {
    /// Server: submits response headers. With `endStream` they end the stream (a Trailers-Only
    /// gRPC response); otherwise a body follows through `sendData` and `sendTrailers`/`endStream`.
    public func sendResponseHeaders(streamID: Int32, headers: [HTTP2Header], endStream: Bool) throws(HTTP2Error) {
        let rv: Int32
        if endStream {
            // nghttp2_submit_response: 0, NGHTTP2_ERR_INVALID_ARGUMENT (stream 0, unknown or
            // closed stream, headers already sent), NGHTTP2_ERR_DATA_EXIST, NGHTTP2_ERR_PROTO
            // (client session), NGHTTP2_ERR_NOMEM.
            rv = withNameValues(headers) { nghttp2_submit_response(session, streamID, $0, $1, nil) }
        } else {
            outbound[streamID] = makeOutboundStream()
            var provider = HTTP2Session.dataProvider()
            rv = withNameValues(headers) { nghttp2_submit_response(session, streamID, $0, $1, &provider) }
            if rv < 0 { outbound.removeValue(forKey: streamID).map(recycle) }
        }
        try check(rv, "nghttp2_submit_response")
    }

    /// Client: opens a stream with request headers; returns its stream ID. Without `endStream`
    /// a body follows through `sendData` and `endStream(streamID:)`.
    public func sendRequest(headers: [HTTP2Header], endStream: Bool) throws(HTTP2Error) -> Int32 {
        let body = makeOutboundStream()
        var provider = HTTP2Session.dataProvider()
        // nghttp2_submit_request: the new stream ID, or NGHTTP2_ERR_NOMEM,
        // NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE (IDs exhausted), NGHTTP2_ERR_PROTO (server session),
        // NGHTTP2_ERR_INVALID_ARGUMENT (self dependency).
        let streamID = withNameValues(headers) { nva, count in
            endStream
                ? nghttp2_submit_request(session, nil, nva, count, nil, nil)
                : nghttp2_submit_request(session, nil, nva, count, &provider, nil)
        }
        try check(streamID, "nghttp2_submit_request")
        if !endStream { outbound[streamID] = body }
        return streamID
    }

    /// Queues body bytes on a stream whose headers went out without END_STREAM. Bytes leave as
    /// the peer's windows allow. Ignored for a stream that has ended or closed.
    public func sendData(streamID: Int32, _ bytes: ByteBuffer) {
        guard let body = outbound[streamID], !body.ending else { return }
        var bytes = bytes
        body.pending.writeBuffer(&bytes)
        resume(streamID, body)
    }

    /// Queues body bytes that `write` appends straight into the stream's outbound buffer (for a
    /// framing prefix and a message without an intermediate buffer). Like `sendData`, ignored for a
    /// stream that has ended or closed: then `write` is not called.
    public func sendData(streamID: Int32, writing write: (inout ByteBuffer) -> Void) {
        guard let body = outbound[streamID], !body.ending else { return }
        write(&body.pending)
        resume(streamID, body)
    }

    /// Ends the body with trailers (HEADERS with END_STREAM after the last DATA frame).
    public func sendTrailers(streamID: Int32, _ trailers: [HTTP2Header]) {
        guard let body = outbound[streamID], !body.ending else { return }
        body.ending = true
        body.trailers = trailers
        resume(streamID, body)
    }

    /// Ends the body without trailers (END_STREAM on the last DATA frame).
    public func endStream(streamID: Int32) {
        sendTrailers(streamID: streamID, [])
    }

    /// Asks for RST_STREAM NO_ERROR right after our END_STREAM goes out, if the peer has not
    /// finished sending by then (gRPC: a server that answered before the request ended).
    public func resetAfterEndStream(streamID: Int32) {
        resetAfterEndStream.insert(streamID)
    }

    /// Sends RST_STREAM with `errorCode`; pending output for the stream is dropped.
    public func resetStream(streamID: Int32, errorCode: UInt32) throws(HTTP2Error) {
        outbound.removeValue(forKey: streamID).map(recycle)
        // nghttp2_submit_rst_stream: 0, NGHTTP2_ERR_NOMEM, NGHTTP2_ERR_INVALID_ARGUMENT (stream 0).
        try check(
            nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, errorCode),
            "nghttp2_submit_rst_stream")
    }

    /// Server: the first of the two GOAWAYs of a graceful shutdown (last stream ID 2^31-1).
    public func sendShutdownNotice() throws(HTTP2Error) {
        // nghttp2_submit_shutdown_notice: 0, NGHTTP2_ERR_NOMEM, NGHTTP2_ERR_INVALID_STATE (client
        // session, or a GOAWAY already went out).
        try check(nghttp2_submit_shutdown_notice(session), "nghttp2_submit_shutdown_notice")
    }

    /// Sends GOAWAY naming the last stream we processed; streams up to it may finish.
    public func sendGoAway(errorCode: UInt32) throws(HTTP2Error) {
        // nghttp2_submit_goaway: 0, NGHTTP2_ERR_NOMEM, NGHTTP2_ERR_INVALID_ARGUMENT (bad last
        // stream ID). After it, want_read/want_write fall to 0 once open streams are done.
        try check(
            nghttp2_submit_goaway(
                session, UInt8(NGHTTP2_FLAG_NONE.rawValue), lastProcessedStreamID, errorCode, nil, 0),
            "nghttp2_submit_goaway")
    }

    func resume(_ streamID: Int32, _ body: OutboundStream) {
        guard body.deferred else { return }
        body.deferred = false
        // nghttp2_session_resume_data: 0, NGHTTP2_ERR_INVALID_ARGUMENT (stream gone or not
        // deferred: nothing to do), NGHTTP2_ERR_NOMEM (the next mem_send will report it).
        _ = nghttp2_session_resume_data(session, streamID)
    }

    /// The read callback: hands queued body bytes to nghttp2, DEFERRED when none are queued,
    /// EOF (with trailers submitted, NO_END_STREAM) when the body is complete.
    func readBody(
        streamID: Int32, into buf: UnsafeMutablePointer<UInt8>, length: Int, flags: UnsafeMutablePointer<UInt32>
    )
        -> Int
    {
        guard let body = outbound[streamID] else {
            // The stream was reset by us; nghttp2 resets it (TEMPORAL_CALLBACK_FAILURE).
            return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        let count = min(length, body.pending.readableBytes)
        if count > 0 {
            body.pending.withUnsafeReadableBytes { raw in
                UnsafeMutableRawPointer(buf).copyMemory(from: raw.baseAddress!, byteCount: count)  // count > 0: non-nil
            }
            body.pending.moveReaderIndex(forwardBy: count)
            if body.pending.readableBytes == 0 { body.pending.clear() }
        }
        if body.pending.readableBytes == 0 && body.ending {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            outbound[streamID] = nil
            if !body.trailers.isEmpty {
                flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                // nghttp2_submit_trailer: 0, NGHTTP2_ERR_NOMEM, NGHTTP2_ERR_INVALID_ARGUMENT
                // (stream 0 or gone). On failure the stream ends without trailers.
                let rv = withNameValues(body.trailers) { nghttp2_submit_trailer(session, streamID, $0, $1) }
                if rv < 0 { flags.pointee &= ~NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue }
            }
            recycle(body)
            return count
        }
        if count == 0 {
            body.deferred = true
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        return count
    }

    /// A body for a new stream: one a finished stream left, or a new one.
    func makeOutboundStream() -> OutboundStream {
        spareOutbound.popLast() ?? OutboundStream(allocator: allocator)
    }

    /// Keeps a finished stream's body (and its buffer) for the next stream, up to 32: a
    /// connection of many short calls then allocates neither per call, also with 32 calls in
    /// flight (16 left every other call allocating both). A body whose buffer grew past 16 KiB is
    /// let go, so the spares hold at most 512 KiB.
    func recycle(_ body: OutboundStream) {
        guard spareOutbound.count < 32, body.pending.capacity <= 16 * 1024 else { return }
        body.pending.clear()
        body.ending = false
        body.trailers = []
        body.deferred = false
        spareOutbound.append(body)
    }

    static func dataProvider() -> nghttp2_data_provider {
        var provider = nghttp2_data_provider()
        provider.read_callback = { _, streamID, buf, length, flags, _, userData in
            guard let userData, let buf, let flags else { return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
            return HTTP2Session.with(userData) {
                $0.readBody(streamID: streamID, into: buf, length: length, flags: flags)
            }
        }
        return provider
    }
}

/// Calls `body` with an `nghttp2_nv` array pointing into one contiguous copy of the headers'
/// bytes. nghttp2 copies the fields during the submit call, so the memory lives only for the call:
/// temporary (stack) memory for a typical header list, no heap allocation.
func withNameValues<R>(_ headers: [HTTP2Header], _ body: (UnsafePointer<nghttp2_nv>?, Int) -> R) -> R {
    var byteCount = 0
    for header in headers { byteCount += header.name.utf8.count + header.value.utf8.count }
    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(1, byteCount)) { raw in
        withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: max(1, headers.count)) { fields in
            var offset = 0
            for (i, header) in headers.enumerated() {
                let name = copyUTF8(header.name, into: raw, at: offset)
                let value = copyUTF8(header.value, into: raw, at: offset + name)
                fields.initializeElement(
                    at: i,
                    to: nghttp2_nv(
                        name: raw.baseAddress.map { $0 + offset }, value: raw.baseAddress.map { $0 + offset + name },
                        namelen: name, valuelen: value, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
                offset += name + value
            }
            return body(UnsafePointer(fields.baseAddress), headers.count)
        }
    }
}

/// Copies `text`'s UTF-8 bytes into `buffer` at `offset`; returns how many.
private func copyUTF8(_ text: String, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
    // A native string's bytes are read in place, without the retain of `var copy = text; copy.withUTF8`.
    let copied = text.utf8.withContiguousStorageIfAvailable { utf8 in
        guard let source = utf8.baseAddress, utf8.count > 0, let target = buffer.baseAddress else { return 0 }
        (target + offset).initialize(from: source, count: utf8.count)
        return utf8.count
    }
    if let copied { return copied }
    var count = 0
    for byte in text.utf8 {
        buffer[offset + count] = byte
        count += 1
    }
    return count
}
