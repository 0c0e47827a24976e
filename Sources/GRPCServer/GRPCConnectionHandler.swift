internal import Gzip
internal import HTTP2
internal import Logging
internal import NIOCore

/// One accepted connection: owns its `HTTP2Session` (server role) and the calls on it.
///
/// A NIO channel handler; everything here runs on the connection's event loop. Output is drained
/// from nghttp2 after every input and once per loop tick after writer calls. While the channel is
/// not writable, reads from the socket are held back.
final class GRPCConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = Never
    typealias OutboundIn = Never
    typealias OutboundOut = ByteBuffer

    /// Sent through the pipeline by `GRPCServer` to begin a graceful shutdown.
    struct GracefulShutdown: Sendable {}

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    let configuration: GRPCServerConfiguration
    let methods: [String: GRPCMethod]
    let connectionNumber: UInt64
    var logger: Logger
    var session: HTTP2Session?
    var context: ChannelHandlerContext?
    var streams = StreamIDMap<GRPCServerStream>()
    var peer = "unknown"
    /// The client certificate's subject, once the TLS handshake has named it.
    var peerIdentity: String?
    /// Bytes of the client preface checked so far (HTTP/1 and garbage detection).
    var prefaceBytesSeen = 0
    var flushScheduled = false
    /// The output buffer `flush` reuses (see there); not kept when a burst made it large.
    var outputBuffer: ByteBuffer?
    static let keptOutputBytes = 256 * 1024
    var readHeldBack = false
    var shuttingDown = false
    /// Made on the first gzip message of the connection.
    var decompressor: GzipDecompressor?
    /// Response bytes of this connection's calls still queued or reserved: the sum of its streams'
    /// `queuedOutput` and `reservedOutput`, kept as they change (`countOutput`).
    var unreadOutputBytes = 0
    /// Streams with response bytes counted in the output budget.
    var streamsWithOutput = StreamIDSet()
    /// Streams whose input window is held back (manual flow control).
    var streamsWithDeferredInput = StreamIDSet()
    var inputCheckScheduled = false

    init(
        configuration: GRPCServerConfiguration, methods: [String: GRPCMethod], connectionNumber: UInt64, logger: Logger
    ) {
        self.configuration = configuration
        self.methods = methods
        self.connectionNumber = connectionNumber
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        peer = peerText(context.channel.remoteAddress)
        logger[metadataKey: "grpc.peer"] = "\(peer)"
        var settings = HTTP2Settings()
        settings.maxConcurrentStreams = configuration.maxConcurrentStreams
        settings.initialWindowBytes = configuration.initialStreamWindowBytes
        settings.maxHeaderListBytes = configuration.maxHeaderListBytes
        settings.connectionWindowBytes = configuration.connectionWindowBytes
        do {
            // SETTINGS and WINDOW_UPDATE are queued now, sent once the client preface checks out.
            session = try HTTP2Session(role: .server, settings: settings)
        } catch {
            logger.error("grpc.connection.session_failed", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tearDown()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        tearDown()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        guard let session else { return }
        if prefaceBytesSeen < Self.preface.count && !checkPreface(bytes, context: context) { return }
        do {
            handle(try session.receive(bytes))
        } catch {
            logger.debug("grpc.connection.protocol_error", metadata: ["error": "\(error)"])
            flush()
            context.close(promise: nil)
            return
        }
        flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("grpc.connection.error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is GracefulShutdown {
            beginGracefulShutdown()
        } else if let identity = event as? GRPCPeerIdentity {
            peerIdentity = identity.name
            logger[metadataKey: "grpc.peer_identity"] = "\(identity.name)"
        } else if event is IdleStateHandler.IdleStateEvent {
            // Nothing read or written for `idleTimeout`: a connection without calls says goodbye.
            if streams.isEmpty { beginGracefulShutdown() }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            readHeldBack = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && readHeldBack {
            readHeldBack = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    /// Drains nghttp2's output to the socket, handles events that sending caused, and closes the
    /// connection when nghttp2 wants neither to read nor to write (GOAWAY done, fatal error).
    func flush() {
        guard let session, let context else { return }
        // The last flush's buffer, reused: once the socket took its bytes it is ours alone again,
        // so clearing it allocates nothing (if a write is still pending, clear() copies).
        var buffer = outputBuffer ?? context.channel.allocator.buffer(capacity: 4_096)
        outputBuffer = nil
        buffer.clear()
        var failed = false
        do {
            var events = try session.drainOutput(into: &buffer)
            while !events.isEmpty {
                handle(events)
                events = try session.drainOutput(into: &buffer)
            }
        } catch {
            logger.debug("grpc.connection.send_failed", metadata: ["error": "\(error)"])
            failed = true
        }
        settleOutput()
        if buffer.readableBytes > 0 {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        }
        if buffer.capacity <= Self.keptOutputBytes { outputBuffer = buffer }
        if failed || (!session.wantsRead && !session.wantsWrite) {
            context.close(promise: nil)
        }
    }

    /// Flushes once on the next loop tick, coalescing writer calls made in the meantime.
    func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            self.flush()
        }
    }

    /// Checks the first bytes against the HTTP/2 client preface. An HTTP/1 request gets a short
    /// 505 text answer; anything else that does not match is closed. Returns false when closed.
    func checkPreface(_ bytes: ByteBuffer, context: ChannelHandlerContext) -> Bool {
        let expected = Self.preface[prefaceBytesSeen...].prefix(bytes.readableBytes)
        let received = bytes.readableBytesView.prefix(expected.count)
        if received.elementsEqual(expected) {
            prefaceBytesSeen += expected.count
            return true
        }
        // The bytes so far: the part of the preface already matched, then this read's.
        let start = Self.preface[0..<prefaceBytesSeen] + bytes.readableBytesView.prefix(16)
        let method = start.prefix(while: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") })
        if method.count >= 3 && start.dropFirst(method.count).first == UInt8(ascii: " ") {
            let text = "This port speaks HTTP/2 (gRPC) only.\n"
            let response =
                "HTTP/1.1 505 HTTP Version Not Supported\r\ncontent-type: text/plain\r\n"
                + "content-length: \(text.utf8.count)\r\nconnection: close\r\n\r\n\(text)"
            logger.debug("grpc.connection.http1_rejected")
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: response)))
                .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            logger.debug("grpc.connection.bad_preface")
            context.close(promise: nil)
        }
        session = nil
        return false
    }

    /// GOAWAY shutdown notice now, the final GOAWAY about one round trip later; the connection
    /// closes by itself when its open streams are done.
    func beginGracefulShutdown() {
        guard !shuttingDown, let session, let context else { return }
        shuttingDown = true
        do {
            try session.sendShutdownNotice()
        } catch {
            logger.debug("grpc.connection.goaway_failed", metadata: ["error": "\(error)"])
        }
        flush()
        context.eventLoop.assumeIsolated().scheduleTask(in: configuration.goAwayNoticeDelay) {
            guard let session = self.session else { return }
            do {
                try session.sendGoAway(errorCode: HTTP2ErrorCode.noError)
            } catch {
                self.logger.debug("grpc.connection.goaway_failed", metadata: ["error": "\(error)"])
            }
            self.flush()
        }
    }

    /// Cancels every open call and frees the nghttp2 session.
    func tearDown() {
        let open = streams.values
        streams.removeAll()
        for stream in open { cancel(stream) }
        session = nil
    }
}
