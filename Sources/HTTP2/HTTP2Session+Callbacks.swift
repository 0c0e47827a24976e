internal import CNGHTTP2
internal import NIOCore

/// nghttp2 callbacks. Each recovers the session from `user_data` (set unretained in `init`;
/// the session outlives its `nghttp2_session`), records an event, and returns 0 or an nghttp2
/// error code: no Swift error crosses into C.
extension HTTP2Session {
    static func install(_ callbacks: OpaquePointer?) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, userData in
            guard let frame, let userData else { return 0 }
            HTTP2Session.with(userData) { $0.incoming.begin(streamID: frame.pointee.hd.stream_id) }
            return 0
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) {
            _, frame, name, nameCount, value, valueCount, _, userData in
            guard let frame, let name, let value, let userData else { return 0 }
            return HTTP2Session.with(userData) {
                $0.onHeader(
                    streamID: frame.pointee.hd.stream_id,
                    name: UnsafeBufferPointer(start: name, count: nameCount),
                    value: UnsafeBufferPointer(start: value, count: valueCount))
            }
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, userData in
            guard let frame, let userData else { return 0 }
            return HTTP2Session.with(userData) { $0.onFrameReceived(frame.pointee) }
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) {
            _, _, streamID, data, count, userData in
            guard let data, let userData else { return 0 }
            HTTP2Session.with(userData) { me in
                me.events.append(.data(streamID: streamID, bytes: me.dataChunk(data, count: count)))
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, streamID, errorCode, userData in
            guard let userData else { return 0 }
            HTTP2Session.with(userData) { me in
                if me.incoming.streamID == streamID { me.incoming = IncomingHeaders() }
                me.outbound.removeValue(forKey: streamID).map(me.recycle)
                me.resetAfterEndStream.remove(streamID)
                me.events.append(.streamClosed(streamID: streamID, errorCode: errorCode))
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks) { _, frame, userData in
            guard let frame, let userData else { return 0 }
            HTTP2Session.with(userData) { $0.onFrameSent(frame.pointee) }
            return 0
        }
    }

    /// Runs `body` with the session `user_data` points at, borrowed: no retain and release around
    /// each callback (they were 3.5 % of a Health/Check's CPU, about 15 callbacks per call). nghttp2
    /// calls back only from inside `receive` and `drainOutput` (mem_recv, mem_send; the submit calls
    /// only queue, and `nghttp2_session_del` calls none), while the caller holds the session.
    static func with<R>(_ userData: UnsafeMutableRawPointer, _ body: (HTTP2Session) -> R) -> R {
        Unmanaged<HTTP2Session>.fromOpaque(userData)._withUnsafeGuaranteedRef(body)
    }

    /// A DATA payload nghttp2 hands over: a slice of the input `receive` is processing when the
    /// pointer lies in it (nghttp2_session_mem_recv passes DATA payloads without copying), so no
    /// allocation; otherwise a copy.
    func dataChunk(_ data: UnsafePointer<UInt8>, count: Int) -> ByteBuffer {
        if let input, let base = inputBase {
            let offset = UnsafeRawPointer(data) - base
            if offset >= 0 && offset + count <= input.readableBytes,
                let slice = input.getSlice(at: input.readerIndex + offset, length: count)
            {
                return slice
            }
        }
        var bytes = allocator.buffer(capacity: count)
        bytes.writeBytes(UnsafeBufferPointer(start: data, count: count))
        return bytes
    }

    func onHeader(streamID: Int32, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard incoming.streamID == streamID, streamID != 0 else { return 0 }
        incoming.size += name.count + value.count + 32
        if role == .server && incoming.size > maxHeaderListBytes {
            incoming.tooLarge = true
            incoming.headers.removeAll()
        }
        if !incoming.tooLarge {
            incoming.headers.append(HTTP2Header(recentStrings.string(name), recentStrings.string(value)))
        }
        return 0
    }

    func onFrameReceived(_ frame: nghttp2_frame) -> Int32 {
        let streamID = frame.hd.stream_id
        let endStream = frame.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch UInt32(frame.hd.type) {
        case NGHTTP2_HEADERS.rawValue:
            guard incoming.streamID == streamID, streamID != 0 else { return 0 }
            let block = incoming
            incoming = IncomingHeaders()
            if block.tooLarge {
                rejectHeaderListTooLarge(streamID: streamID)
            } else {
                events.append(.headers(streamID: streamID, headers: block.headers, endStream: endStream))
            }
        case NGHTTP2_DATA.rawValue:
            if endStream { events.append(.endStream(streamID: streamID)) }
        case NGHTTP2_GOAWAY.rawValue:
            events.append(.goAway(lastStreamID: frame.goaway.last_stream_id, errorCode: frame.goaway.error_code))
        default:
            break
        }
        return 0
    }

    /// Answers 431 (with a gRPC status for gRPC clients) and resets the stream if the client is
    /// still sending. The owner never hears of the stream except its close.
    func rejectHeaderListTooLarge(streamID: Int32) {
        let headers = [
            HTTP2Header(":status", "431"), HTTP2Header("content-type", "application/grpc"),
            HTTP2Header("grpc-status", "8"), HTTP2Header("grpc-message", "header list too large"),
        ]
        resetAfterEndStream.insert(streamID)
        // nghttp2_submit_response codes as in sendResponseHeaders; on failure reset instead.
        let rv = withNameValues(headers) { nghttp2_submit_response(session, streamID, $0, $1, nil) }
        if rv < 0 {
            // nghttp2_submit_rst_stream: 0, NGHTTP2_ERR_NOMEM (mem_send will report it).
            _ = nghttp2_submit_rst_stream(
                session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, NGHTTP2_INTERNAL_ERROR.rawValue)
        }
    }

    func onFrameSent(_ frame: nghttp2_frame) {
        let type = UInt32(frame.hd.type)
        guard type == NGHTTP2_HEADERS.rawValue || type == NGHTTP2_DATA.rawValue,
            frame.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0,
            resetAfterEndStream.remove(frame.hd.stream_id)
        else { return }
        // nghttp2_session_get_stream_remote_close: 1 closed, 0 open, -1 no such stream.
        if nghttp2_session_get_stream_remote_close(session, frame.hd.stream_id) == 0 {
            // nghttp2_submit_rst_stream: 0, NGHTTP2_ERR_NOMEM (mem_send will report it).
            _ = nghttp2_submit_rst_stream(
                session, UInt8(NGHTTP2_FLAG_NONE.rawValue), frame.hd.stream_id, NGHTTP2_NO_ERROR.rawValue)
        }
    }
}
