internal import Gzip
internal import HTTP2
internal import Logging
internal import NIOCore

/// gRPC semantics on top of HTTP/2 events: routing, validation, message delivery, flow
/// control, deadlines, and the writer's operations. All on the connection's event loop.
extension GRPCConnectionHandler {
    func handle(_ events: [HTTP2Event]) {
        for event in events {
            switch event {
            case .headers(let streamID, let headers, let endStream):
                if let stream = streams[streamID] {
                    if endStream { endOfInput(stream) }  // trailers from the client: ignored
                } else if headers.first?.name.utf8.first == UInt8(ascii: ":") {
                    // A request's block starts with its pseudo-headers and has :method; trailers carry
                    // none (nghttp2 checks both, its HTTP messaging checks being on by default).
                    openCall(streamID: streamID, headers: headers, endStream: endStream)
                }
            case .data(let streamID, let bytes):
                receiveData(streamID: streamID, bytes)
            case .endStream(let streamID):
                if let stream = streams[streamID] { endOfInput(stream) }
            case .streamClosed(let streamID, let errorCode):
                guard let stream = streams.removeValue(forKey: streamID) else { continue }
                if stream.deferredBytes > 0 { consume(streamID, stream.deferredBytes) }
                if stream.isLive {
                    logger.debug(
                        "grpc.call.reset", metadata: ["grpc.stream": "\(streamID)", "h2.error": "\(errorCode)"])
                }
                cancel(stream)
            case .goAway(let lastStreamID, let errorCode):
                logger.debug(
                    "grpc.connection.goaway_received",
                    metadata: ["last": "\(lastStreamID)", "h2.error": "\(errorCode)"])
            }
        }
    }

    /// `application/grpc`, optionally with a `+subtype` (`+proto`) or parameters; not `application/grpc-web`.
    static func isGRPCContentType(_ value: String) -> Bool {
        if value == "application/grpc" || value == "application/grpc+proto" { return true }  // what clients send
        let base = "application/grpc".utf8
        let utf8 = value.utf8
        // ASCII case-insensitive prefix, without making a lower-cased copy per call.
        guard utf8.count >= base.count,
            zip(utf8, base).allSatisfy({ $0 == $1 || ($0 >= 0x41 && $0 <= 0x5A && $0 | 0x20 == $1) })
        else { return false }
        let rest = utf8.dropFirst(base.count)
        return rest.first.map { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: ";") } ?? true
    }

    /// Validates request headers and starts a call, or answers at once (Trailers-Only).
    func openCall(streamID: Int32, headers: [HTTP2Header], endStream: Bool) {
        guard let context else { return }
        let request = RequestHeaders(headers)
        let path = request.path ?? ""
        guard request.method == "POST" else {
            return reject(streamID, httpStatus: "405", GRPCStatus(.internalError, "gRPC requires POST"))
        }
        guard let contentType = request.contentType, Self.isGRPCContentType(contentType) else {
            return reject(
                streamID, httpStatus: "415", GRPCStatus(.invalidArgument, "content-type must be application/grpc"))
        }
        guard let method = methods[path] else {
            return reject(streamID, GRPCStatus(.unimplemented, "unknown method \(path.prefix(200))"))
        }
        // A client that leaves this many bytes of earlier answers unread gets no new work done.
        let unread = unreadOutputBytes
        guard unread < configuration.connectionOutputHighWater else {
            return reject(
                streamID,
                GRPCStatus(
                    .resourceExhausted,
                    "this connection has \(unread) bytes of answers it has not read; read them first"))
        }
        let encoding = request.encoding ?? "identity"
        guard encoding == "identity" || encoding == "gzip" else {
            return reject(
                streamID, GRPCStatus(.unimplemented, "grpc-encoding \(encoding.prefix(40)) is not supported"),
                extra: [HTTP2Header("grpc-accept-encoding", "identity,gzip")])
        }
        var deadline: NIODeadline?
        if let timeout = request.timeout {
            guard let amount = GRPCTimeout.parse(timeout) else {
                return reject(streamID, GRPCStatus(.internalError, "malformed grpc-timeout"))
            }
            deadline = context.eventLoop.now + amount
        }
        let callContext = GRPCCallContext(
            path: path, headers: headers, deadline: deadline, peer: peer, peerIdentity: peerIdentity,
            eventLoop: context.eventLoop, connectionNumber: connectionNumber, streamID: streamID)
        let writer = GRPCResponseWriter(connection: self, streamID: streamID)
        let stream = GRPCServerStream(
            streamID: streamID, writer: writer, method: method, gzip: encoding == "gzip",
            maxMessageBytes: configuration.maxMessageBytes)
        stream.inputClosed = endStream
        streams[streamID] = stream
        if let deadline {
            stream.deadlineTask = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
                self.deadlineExpired(streamID: streamID)
            }
        }
        stream.handler = method.makeHandler(callContext, writer)
        if endStream { endOfInput(stream) }
    }

    /// The request headers `openCall` reads (the first of each), found in one pass over the block
    /// rather than one search each: compared by length first, so most names are looked at once.
    struct RequestHeaders {
        var method: String?
        var path: String?
        var contentType: String?
        var encoding: String?
        var timeout: String?

        init(_ headers: [HTTP2Header]) {
            for header in headers {
                let name = header.name
                switch name.utf8.count {
                case 5 where name == ":path": path = path ?? header.value
                case 7 where name == ":method": method = method ?? header.value
                case 12 where name == "content-type": contentType = contentType ?? header.value
                case 12 where name == "grpc-timeout": timeout = timeout ?? header.value
                case 13 where name == "grpc-encoding": encoding = encoding ?? header.value
                default: continue
                }
            }
        }
    }

    /// Answers a call that will not reach a handler, in one HEADERS frame with END_STREAM.
    func reject(_ streamID: Int32, httpStatus: String = "200", _ status: GRPCStatus, extra: [HTTP2Header] = []) {
        guard let session else { return }
        logger.debug("grpc.call.rejected", metadata: ["grpc.stream": "\(streamID)", "grpc.status": "\(status.code)"])
        do {
            try session.sendResponseHeaders(
                streamID: streamID,
                headers: [HTTP2Header(":status", httpStatus), HTTP2Header("content-type", "application/grpc")]
                    + statusTrailers(status, extra.map { ($0.name, $0.value) }),
                endStream: true)
            session.resetAfterEndStream(streamID: streamID)
        } catch {
            logger.debug("grpc.call.reject_failed", metadata: ["error": "\(error)"])
        }
    }

    /// Delivers the messages a DATA chunk completes and gives its bytes back to the window
    /// according to the method's flow control.
    func receiveData(streamID: Int32, _ bytes: ByteBuffer) {
        let count = bytes.readableBytes
        guard let stream = streams[streamID], stream.isLive else { return consume(streamID, count) }
        let automatic = stream.flowControl == .automatic
        if !automatic {
            if takesInput(stream) {
                consume(streamID, count)
            } else {
                stream.deferredBytes += count
                streamsWithDeferredInput.insert(streamID)
                scheduleInputCheck()
            }
        }
        defer { if automatic { consume(streamID, count) } }
        stream.deframer.append(bytes)
        do throws(GRPCStatus) {
            while stream.isLive, let message = try stream.deframer.next() {
                let payload = try decode(message, gzip: stream.gzip)
                if !automatic { stream.hold(message.wireBytes) }
                switch stream.requests {
                case .stream:
                    stream.handler?.receive(payload)
                case .one:
                    guard stream.request == nil else {
                        throw GRPCStatus(
                            .invalidArgument, "\(stream.methodName) takes exactly one request message, not two or more")
                    }
                    stream.request = payload
                }
            }
        } catch {
            fail(stream, error)
        }
    }

    func decode(_ message: GRPCMessageDeframer.Message, gzip: Bool) throws(GRPCStatus) -> ByteBuffer {
        guard message.compressed else { return message.payload }
        guard gzip else { throw GRPCStatus(.internalError, "compressed message without grpc-encoding") }
        do {
            if decompressor == nil { decompressor = try GzipDecompressor() }
            let plain = try decompressor!.decompress(  // made on the line above
                message.payload.readableBytesView, maxOutputBytes: configuration.maxMessageBytes)
            return ByteBuffer(bytes: plain)
        } catch {
            if error.code == .tooLarge {
                throw GRPCStatus(
                    .resourceExhausted, "decompressed message exceeds \(configuration.maxMessageBytes) bytes")
            }
            throw GRPCStatus(.internalError, "cannot decompress message")
        }
    }

    func endOfInput(_ stream: GRPCServerStream) {
        stream.inputClosed = true
        guard stream.isLive else { return }
        if stream.deframer.hasPartialMessage {
            fail(stream, GRPCStatus(.internalError, "truncated message"))
            return
        }
        switch stream.requests {
        case .stream:
            stream.handler?.endOfInput()
        case .one:
            guard let request = stream.request else {
                return fail(
                    stream,
                    GRPCStatus(
                        .invalidArgument, "\(stream.methodName) takes exactly one request message, and none came"))
            }
            stream.request = nil
            stream.handler?.receive(request)
            if stream.isLive { stream.handler?.endOfInput() }
        }
    }

    /// Ends a call the transport found broken: sends `status`, then tells the handler to stop.
    func fail(_ stream: GRPCServerStream, _ status: GRPCStatus) {
        stream.writer.finish(status)
        stream.deadlineTask?.cancel()
        stream.handler?.cancelled()
        stream.handler = nil
    }

    func deadlineExpired(streamID: Int32) {
        guard let stream = streams[streamID], stream.isLive else { return }
        fail(stream, GRPCStatus(.deadlineExceeded, "deadline exceeded"))
    }

    /// The stream is gone: stop its handler if it had not finished.
    func cancel(_ stream: GRPCServerStream) {
        stream.deadlineTask?.cancel()
        countOutput(-(stream.queuedOutput + stream.reservedOutput))
        stream.queuedOutput = 0
        stream.reservedOutput = 0
        streamsWithOutput.remove(stream.streamID)
        streamsWithDeferredInput.remove(stream.streamID)
        stream.drainWaiter = nil
        let wasLive = stream.isLive
        stream.writer.finished = true
        stream.writer.connection = nil
        stream.writer.onFinish = nil
        if wasLive { stream.handler?.cancelled() }
        stream.handler = nil
    }

    func consume(_ streamID: Int32, _ count: Int) {
        do {
            try session?.consume(streamID: streamID, bytes: count)
        } catch {
            logger.debug("grpc.connection.consume_failed", metadata: ["error": "\(error)"])
        }
        scheduleFlush()
    }

    /// The response headers of every call that answers with messages.
    static let responseHeaders = [HTTP2Header(":status", "200"), HTTP2Header("content-type", "application/grpc")]
    /// The trailers of a call that ended OK without a message: made once, not per call.
    static let okTrailers = [HTTP2Header("grpc-status", "0")]

    func statusTrailers(_ status: GRPCStatus, _ extra: [(name: String, value: String)]) -> [HTTP2Header] {
        if status.code == .ok && status.message.isEmpty && extra.isEmpty { return Self.okTrailers }
        var trailers = [HTTP2Header("grpc-status", String(status.code.rawValue))]
        if !status.message.isEmpty { trailers.append(HTTP2Header("grpc-message", status.percentEncodedMessage)) }
        trailers += extra.map { HTTP2Header($0.name.lowercased(), $0.value) }
        return trailers
    }

    // MARK: - Writer operations

    /// Queues one response message, prefix and bytes written straight into the stream's output
    /// (no buffer of its own); the response headers go first.
    func sendMessage<Bytes: Collection<UInt8>>(_ message: Bytes, for writer: GRPCResponseWriter) {
        sendMessage(length: message.count, for: writer) { $0.writeBytes(message) }
    }

    func sendMessage(_ message: ByteBuffer, for writer: GRPCResponseWriter) {
        sendMessage(length: message.readableBytes, for: writer) { $0.writeImmutableBuffer(message) }
    }

    /// The 5-byte gRPC prefix (not compressed, `length`), then what `body` writes.
    private func sendMessage(length: Int, for writer: GRPCResponseWriter, body: (inout ByteBuffer) -> Void) {
        guard let session, sendResponseHeadersIfNeeded(writer, session) else { return }
        session.sendData(streamID: writer.streamID) { output in
            output.writeInteger(UInt8(0))
            output.writeInteger(UInt32(length))
            body(&output)
        }
        if let stream = streams[writer.streamID] {
            stream.queuedOutput += 5 + length
            countOutput(5 + length)
            streamsWithOutput.insert(writer.streamID)
        }
        scheduleFlush()
    }

    /// The response headers, once per call; false when they could not be queued.
    private func sendResponseHeadersIfNeeded(_ writer: GRPCResponseWriter, _ session: HTTP2Session) -> Bool {
        guard !writer.headersSent else { return true }
        writer.headersSent = true
        do {
            try session.sendResponseHeaders(streamID: writer.streamID, headers: Self.responseHeaders, endStream: false)
            return true
        } catch {
            logger.debug("grpc.call.headers_failed", metadata: ["error": "\(error)"])
            return false
        }
    }

    func finishCall(_ status: GRPCStatus, trailers: [(name: String, value: String)], for writer: GRPCResponseWriter) {
        guard let session else { return }
        let fields = statusTrailers(status, trailers)
        if writer.headersSent {
            session.sendTrailers(streamID: writer.streamID, fields)
        } else {
            do {
                try session.sendResponseHeaders(
                    streamID: writer.streamID,
                    headers: Self.responseHeaders + fields, endStream: true)
            } catch {
                logger.debug("grpc.call.trailers_failed", metadata: ["error": "\(error)"])
            }
        }
        session.resetAfterEndStream(streamID: writer.streamID)
        if let stream = streams[writer.streamID] {
            stream.deadlineTask?.cancel()
            stream.drainWaiter = nil
        }
        scheduleFlush()
    }

    func releaseOldestMessage(streamID: Int32) {
        guard let stream = streams[streamID], stream.flowControl == .manual, stream.releaseOldest() else { return }
        resumeInput(stream)
    }

    // MARK: - Bounded output

    /// Counts `bytes` more (negative: fewer) of this connection's answers queued or reserved, in
    /// the connection's total (`unreadOutputBytes`, which each new call checks) and in the process's
    /// budget: the same changes the streams' `queuedOutput` and `reservedOutput` make.
    func countOutput(_ bytes: Int) {
        unreadOutputBytes += bytes
        if bytes > 0 { configuration.outputBudget.add(bytes) } else { configuration.outputBudget.remove(-bytes) }
    }

    /// Whether a manual-flow-control stream's input may go back to the client's window: its
    /// handler keeps up (`heldBytesHighWater`), its client reads its answers
    /// (`streamOutputHighWater`) and the process is within its output budget.
    func takesInput(_ stream: GRPCServerStream) -> Bool {
        stream.heldBytes < configuration.heldBytesHighWater
            && stream.queuedOutput < configuration.streamOutputHighWater && !configuration.outputBudget.isSpent
    }

    /// Gives a stream's held-back input window back once it may take input again.
    func resumeInput(_ stream: GRPCServerStream) {
        guard stream.deferredBytes > 0, takesInput(stream) else { return }
        let count = stream.deferredBytes
        stream.deferredBytes = 0
        streamsWithDeferredInput.remove(stream.streamID)
        consume(stream.streamID, count)
    }

    /// After nghttp2 took what the clients' windows allowed: counts what left the session out of
    /// the output budget, and resumes input that waited for it.
    func settleOutput() {
        guard let session else { return }
        var drained: [() -> Void] = []
        for streamID in streamsWithOutput {
            guard let stream = streams[streamID] else {
                streamsWithOutput.remove(streamID)
                continue
            }
            let pending = session.pendingOutboundBytes(streamID: streamID)
            if pending < stream.queuedOutput {
                countOutput(pending - stream.queuedOutput)
                stream.queuedOutput = pending
            }
            if pending == 0 { streamsWithOutput.remove(streamID) }
            if let waiter = stream.drainWaiter, pending < waiter.below {
                stream.drainWaiter = nil
                drained.append(waiter.body)
            }
        }
        // After the walk: a waiter sends more, which changes `streamsWithOutput`.
        for body in drained { body() }
    }

    /// See `GRPCResponseWriter.whenPendingBelow`.
    func whenPendingBelow(_ bytes: Int, streamID: Int32, _ body: @escaping () -> Void) {
        guard let stream = streams[streamID], stream.isLive else { return }
        let pending = session?.pendingOutboundBytes(streamID: streamID) ?? 0
        guard pending >= bytes else { return body() }
        stream.drainWaiter = (bytes, body)
        streamsWithOutput.insert(streamID)  // looked at on every flush until it drains
    }

    /// While some stream's input is held back, looks again every `inputCheckInterval`: the budget
    /// can free up on other connections, with nothing happening on this one.
    func scheduleInputCheck() {
        guard !inputCheckScheduled, let context else { return }
        inputCheckScheduled = true
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.inputCheckInterval) {
            self.inputCheckScheduled = false
            for streamID in self.streamsWithDeferredInput {
                if let stream = self.streams[streamID] { self.resumeInput(stream) }
            }
            if !self.streamsWithDeferredInput.isEmpty { self.scheduleInputCheck() }
        }
    }

    static let inputCheckInterval = TimeAmount.milliseconds(20)

    /// Reserves `bytes` of the output budget for the stream's answer until the stream closes;
    /// false when it does not fit.
    func reserveOutput(_ bytes: Int, streamID: Int32) -> Bool {
        guard let stream = streams[streamID], configuration.outputBudget.admits(bytes) else { return false }
        stream.reservedOutput += bytes
        countOutput(bytes)
        return true
    }
}
