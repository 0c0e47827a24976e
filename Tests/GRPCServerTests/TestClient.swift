import HTTP2
import NIOCore
import NIOPosix

/// One finished call as the test client saw it.
struct CallResult: Sendable {
    var headerBlocks: [[HTTP2Header]] = []
    var body: [UInt8] = []
    var closeCode: UInt32?
    var messages: [[UInt8]] { grpcMessages(body) }
    func trailer(_ name: String) -> String? { headerBlocks.last?.first(name) }
}

/// Client side of a real socket: an HTTP2Session (client role) in a channel handler, confined to
/// the client channel's event loop.
final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    var session: HTTP2Session?
    var context: ChannelHandlerContext?
    var results: [Int32: CallResult] = [:]
    var waiters: [Int32: EventLoopPromise<CallResult>] = [:]
    var goAwayLastStreamIDs: [Int32] = []

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        var settings = HTTP2Settings()
        settings.automaticWindowUpdate = true
        session = try? HTTP2Session(role: .client, settings: settings)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil  // breaks the handler ↔ context cycle
        session = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        flush()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let session else { return }
        do {
            handle(try session.receive(unwrapInboundIn(data)))
        } catch {
            context.close(promise: nil)
        }
        flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        for (id, waiter) in waiters { waiter.succeed(results[id] ?? CallResult()) }
        waiters.removeAll()
        context.fireChannelInactive()
    }

    func handle(_ events: [HTTP2Event]) {
        for event in events {
            switch event {
            case .headers(let id, let headers, _): results[id, default: CallResult()].headerBlocks.append(headers)
            case .data(let id, let bytes): results[id, default: CallResult()].body += Array(bytes.readableBytesView)
            case .endStream: break
            case .streamClosed(let id, let code):
                results[id, default: CallResult()].closeCode = code
                waiters.removeValue(forKey: id)?.succeed(results[id] ?? CallResult())
            case .goAway(let last, _): goAwayLastStreamIDs.append(last)
            }
        }
    }

    func flush() {
        guard let session, let context else { return }
        var out = context.channel.allocator.buffer(capacity: 0)
        do { handle(try session.drainOutput(into: &out)) } catch { context.close(promise: nil) }
        if out.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(out), promise: nil) }
    }

    func start(path: String, messages: [[UInt8]], end: Bool, promise: EventLoopPromise<CallResult>) throws -> Int32 {
        guard let session else { throw ChannelError.ioOnClosedChannel }
        let id = try session.sendRequest(
            headers: [
                HTTP2Header(":method", "POST"), HTTP2Header(":scheme", "http"), HTTP2Header(":path", path),
                HTTP2Header(":authority", "localhost"), HTTP2Header("content-type", "application/grpc"),
                HTTP2Header("te", "trailers"),
            ], endStream: false)
        waiters[id] = promise
        send(id, messages: messages, end: end)
        return id
    }

    /// Opens `count` streams and resets each at once (the rapid-reset pattern).
    func openAndReset(path: String, count: Int) throws {
        guard let session else { throw ChannelError.ioOnClosedChannel }
        for _ in 0..<count {
            let id = try session.sendRequest(
                headers: [
                    HTTP2Header(":method", "POST"), HTTP2Header(":scheme", "http"), HTTP2Header(":path", path),
                    HTTP2Header(":authority", "localhost"), HTTP2Header("content-type", "application/grpc"),
                ], endStream: false)
            flush()  // HEADERS must leave first: nghttp2 drops a request reset before it was sent
            try session.resetStream(streamID: id, errorCode: HTTP2ErrorCode.cancel)
        }
        flush()
    }

    func send(_ id: Int32, messages: [[UInt8]], end: Bool) {
        for message in messages { session?.sendData(streamID: id, ByteBuffer(bytes: grpcFrame(message))) }
        if end { session?.endStream(streamID: id) }
        flush()
    }
}

/// Async face of `ClientHandler` for tests.
struct TestClient: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<ClientHandler>

    /// Connects to `address`, from `local` (e.g. 127.0.0.2, a second loopback address) when given.
    static func connect(to address: SocketAddress, from local: SocketAddress? = nil, group: any EventLoopGroup)
        async throws -> TestClient
    {
        var bootstrap = ClientBootstrap(group: group)
        if let local { bootstrap = bootstrap.bind(to: local) }
        let channel =
            try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ClientHandler())
                }
            }
            .connect(to: address).get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: ClientHandler.self), eventLoop: channel.eventLoop)
        }.get()
        return TestClient(channel: channel, handler: handler)
    }

    /// Starts a call; the future completes when its stream closes.
    func start(_ path: String, _ messages: [[UInt8]], end: Bool = true) async throws -> (
        Int32, EventLoopFuture<CallResult>
    ) {
        let promise = channel.eventLoop.makePromise(of: CallResult.self)
        let handler = self.handler
        let id = try await channel.eventLoop.submit {
            try handler.value.start(path: path, messages: messages, end: end, promise: promise)
        }.get()
        return (id, promise.futureResult)
    }

    func call(_ path: String, _ messages: [[UInt8]]) async throws -> CallResult {
        try await start(path, messages).1.get()
    }

    func send(_ id: Int32, _ messages: [[UInt8]], end: Bool) async throws {
        let handler = self.handler
        try await channel.eventLoop.submit { handler.value.send(id, messages: messages, end: end) }.get()
    }

    func openAndReset(_ path: String, count: Int) async throws {
        let handler = self.handler
        try await channel.eventLoop.submit { try handler.value.openAndReset(path: path, count: count) }.get()
    }

    var goAways: [Int32] {
        get async throws {
            let handler = self.handler
            return try await channel.eventLoop.submit { handler.value.goAwayLastStreamIDs }.get()
        }
    }
}
