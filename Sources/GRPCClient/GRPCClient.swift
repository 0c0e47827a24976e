public import HTTP2
public import NIOCore
import NIOPosix
public import NIOSSL
import Synchronization

/// A small gRPC client over nghttp2 (h2c, or TLS through swift-nio-ssl with ALPN h2; identity
/// encoding, one connection, calls whose answers arrive whole): the CLI's `--server` calls and the
/// transport tests use it. Everything touching the session runs on the channel's event loop
/// (`GRPCClientHandler`).
public struct GRPCClient: Sendable {
    /// No answer within the call's time (a server that accepts and says nothing, a TLS port).
    public struct TimedOut: Error {}

    public let channel: any Channel
    let handler: NIOLoopBound<GRPCClientHandler>

    /// Connects to `host`:`port` (resolved) within `timeout`; over TLS when `tls` is given (the
    /// server's certificate is checked for `host`, a name or an IP address).
    public static func connect(
        host: String, port: Int, tls: NIOSSLContext? = nil, timeout: TimeAmount = .seconds(60),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> GRPCClient {
        try await open(
            ClientBootstrap(group: group).connectTimeout(timeout), authority: "\(host):\(port)",
            tls: tls.map { ($0, host) }
        ) {
            $0.connect(host: host, port: port)
        }
    }

    /// A TLS context for `connect(host:port:tls:)`: TLS 1.2 or later, ALPN h2, the server checked
    /// against `trustRoots` (PEM; the system's roots without), and a client certificate when given.
    public static func tlsContext(trustRoots: String?, certificate: String?, key: String?) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["h2"]
        if let trustRoots { configuration.trustRoots = .file(trustRoots) }
        if let certificate, let key {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// Connects to `address` within `timeout`, from `local` (e.g. 127.0.0.2, a second loopback
    /// address) when given.
    public static func connect(
        to address: SocketAddress, from local: SocketAddress? = nil, timeout: TimeAmount = .seconds(60),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> GRPCClient {
        var bootstrap = ClientBootstrap(group: group).connectTimeout(timeout)
        if let local { bootstrap = bootstrap.bind(to: local) }
        let authority = "\(address.ipAddress ?? "localhost"):\(address.port ?? 0)"
        return try await open(bootstrap, authority: authority, tls: nil) { $0.connect(to: address) }
    }

    private static func open(
        _ bootstrap: ClientBootstrap, authority: String, tls: (context: NIOSSLContext, host: String)?,
        connect: (ClientBootstrap) -> EventLoopFuture<any Channel>
    ) async throws -> GRPCClient {
        // The handler is kept as the initializer makes it, not looked up in the pipeline after
        // `connect`: a peer that hangs up at once (a TLS port meeting h2c) has emptied the pipeline
        // by then, and the lookup failed with a bare "notFound". Kept, the handler answers the
        // first call with the closed connection's failure, as for a later hang-up.
        let made = MadeHandler()
        let channel = try await connect(
            bootstrap.channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        // SNI carries names only; an IP address is checked against the certificate's IP SANs.
                        let name = tls.host.contains(where: \.isLetter) ? tls.host : nil
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls.context, serverHostname: name))
                    }
                    let handler = GRPCClientHandler(authority: authority, scheme: tls == nil ? "http" : "https")
                    try channel.pipeline.syncOperations.addHandler(handler)
                    made.handler.withLock { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                }
            }
        ).get()
        guard let handler = made.handler.withLock({ $0 }) else { throw ChannelError.ioOnClosedChannel }
        return GRPCClient(channel: channel, handler: handler)
    }

    /// The handler a channel initializer made, for `open` once `connect` has the channel.
    private final class MadeHandler: Sendable {
        let handler = Mutex<NIOLoopBound<GRPCClientHandler>?>(nil)
    }

    /// Starts a call with `messages` (and `metadata`, e.g. authorization), ending the request
    /// stream when `end`; the future completes when the stream closes (or the connection does).
    public func start(
        _ path: String, _ messages: [[UInt8]], metadata: [HTTP2Header] = [], end: Bool = true
    ) async throws -> (streamID: Int32, result: EventLoopFuture<GRPCCallResult>) {
        let promise = channel.eventLoop.makePromise(of: GRPCCallResult.self)
        let handler = self.handler
        do {
            let id = try await channel.eventLoop.submit {
                try handler.value.start(path: path, messages: messages, metadata: metadata, end: end, promise: promise)
            }.get()
            return (id, promise.futureResult)
        } catch {
            promise.fail(error)
            throw error
        }
    }

    /// One call, its answer whole.
    public func call(_ path: String, _ messages: [[UInt8]], metadata: [HTTP2Header] = []) async throws
        -> GRPCCallResult
    {
        try await start(path, messages, metadata: metadata).result.get()
    }

    /// One call with a deadline: the server is told it (grpc-timeout); without an answer by then
    /// the connection is closed and `TimedOut` thrown.
    public func call(_ path: String, _ messages: [[UInt8]], metadata: [HTTP2Header] = [], timeout: TimeAmount)
        async throws -> GRPCCallResult
    {
        let milliseconds = max(1, timeout.nanoseconds / 1_000_000)
        let expired = Expiry()
        let channel = self.channel
        let handler = self.handler
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            expired.fired.store(true, ordering: .relaxed)
            channel.close(promise: nil)  // the waiting call is then answered with what came, if anything
            handler.value.answerWaiters()  // and is answered even if the connection was already gone
        }
        defer { timer.cancel() }
        let result = try await call(
            path, messages, metadata: metadata + [HTTP2Header("grpc-timeout", "\(milliseconds)m")])
        if expired.fired.load(ordering: .relaxed) && result.trailer("grpc-status") == nil { throw TimedOut() }
        return result
    }

    /// More request messages on a started call.
    public func send(_ id: Int32, _ messages: [[UInt8]], end: Bool) async throws {
        let handler = self.handler
        try await channel.eventLoop.submit { handler.value.send(id, messages: messages, end: end) }.get()
    }

    /// Opens `count` streams and resets each at once (the rapid-reset pattern, for tests).
    public func openAndReset(_ path: String, count: Int) async throws {
        let handler = self.handler
        try await channel.eventLoop.submit { try handler.value.openAndReset(path: path, count: count) }.get()
    }

    /// The last stream ids of the GOAWAYs received so far.
    public var goAways: [Int32] {
        get async throws {
            let handler = self.handler
            return try await channel.eventLoop.submit { handler.value.goAwayLastStreamIDs }.get()
        }
    }

    public func close() async { try? await channel.close() }

    /// Set by a call's timer when it fires.
    private final class Expiry: Sendable {
        let fired = Atomic<Bool>(false)
    }
}

/// One finished call as the client saw it.
public struct GRPCCallResult: Sendable {
    public var headerBlocks: [[HTTP2Header]] = []
    public var body: [UInt8] = []
    /// The RST_STREAM or stream-close error code (0: closed normally).
    public var closeCode: UInt32?

    public init() {}

    /// The response messages (1-byte flag, 4-byte big-endian length, bytes).
    public var messages: [[UInt8]] {
        var out: [[UInt8]] = []
        var rest = body[...]
        while rest.count >= 5 {
            let length = rest.dropFirst().prefix(4).reduce(0) { $0 << 8 | Int($1) }
            guard rest.count >= 5 + length else { break }
            out.append(Array(rest.dropFirst(5).prefix(length)))
            rest = rest.dropFirst(5 + length)
        }
        return out
    }

    /// A field of the last header block (the trailers, or the headers of a Trailers-Only answer).
    public func trailer(_ name: String) -> String? { headerBlocks.last?.first(name) }

    /// grpc-status (UNKNOWN, 2, when the call ended without one).
    public var status: Int { trailer("grpc-status").flatMap { Int($0) } ?? 2 }

    /// grpc-message, percent-decoded.
    public var statusMessage: String { trailer("grpc-message")?.removingGRPCPercentEncoding ?? "" }
}

extension String {
    /// The grpc-message encoding undone: `%XX` bytes back to UTF-8.
    var removingGRPCPercentEncoding: String {
        var bytes: [UInt8] = []
        var utf8 = self.utf8[...]
        while let byte = utf8.first {
            if byte == UInt8(ascii: "%"), utf8.count >= 3,
                let value = UInt8(String(decoding: utf8.dropFirst().prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
                utf8 = utf8.dropFirst()
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The client half of one HTTP/2 connection; confined to its channel's event loop.
final class GRPCClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let authority: String
    private let scheme: String
    private var session: HTTP2Session?
    private var context: ChannelHandlerContext?
    private var results: [Int32: GRPCCallResult] = [:]
    private var waiters: [Int32: EventLoopPromise<GRPCCallResult>] = [:]
    private(set) var goAwayLastStreamIDs: [Int32] = []
    /// The first error the connection met.
    private var failure: (any Error)?
    /// Set when the connection has closed: no call may start after it (the handler stays in the
    /// pipeline for a moment after a failed TLS handshake closes the channel).
    private var closed = false

    init(authority: String, scheme: String = "http") {
        self.authority = authority
        self.scheme = scheme
    }

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
        closed = true
        answerWaiters()
        context.fireChannelInactive()
    }

    /// Answers every call still waiting with what came for it, or fails it with the connection's
    /// failure (a TLS handshake refused).
    func answerWaiters() {
        for (id, waiter) in waiters {
            // A connection that failed (a TLS handshake refused) fails its calls with why.
            if let failure, results[id] == nil {
                waiter.fail(failure)
            } else {
                waiter.succeed(results[id] ?? GRPCCallResult())
            }
        }
        waiters.removeAll()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if failure == nil { failure = error }
        context.close(promise: nil)
    }

    private func handle(_ events: [HTTP2Event]) {
        for event in events {
            switch event {
            case .headers(let id, let headers, _): results[id, default: GRPCCallResult()].headerBlocks.append(headers)
            case .data(let id, let bytes): results[id, default: GRPCCallResult()].body += Array(bytes.readableBytesView)
            case .endStream: break
            case .streamClosed(let id, let code):
                results[id, default: GRPCCallResult()].closeCode = code
                waiters.removeValue(forKey: id)?.succeed(results.removeValue(forKey: id) ?? GRPCCallResult())
            case .goAway(let last, _): goAwayLastStreamIDs.append(last)
            }
        }
    }

    private func flush() {
        guard let session, let context else { return }
        var out = context.channel.allocator.buffer(capacity: 0)
        do { handle(try session.drainOutput(into: &out)) } catch { context.close(promise: nil) }
        if out.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(out), promise: nil) }
    }

    private func requestHeaders(_ path: String, grpc: Bool = true) -> [HTTP2Header] {
        [
            HTTP2Header(":method", "POST"), HTTP2Header(":scheme", scheme), HTTP2Header(":path", path),
            HTTP2Header(":authority", authority), HTTP2Header("content-type", "application/grpc"),
        ] + (grpc ? [HTTP2Header("te", "trailers")] : [])
    }

    func start(
        path: String, messages: [[UInt8]], metadata: [HTTP2Header], end: Bool,
        promise: EventLoopPromise<GRPCCallResult>
    ) throws -> Int32 {
        guard let session, !closed else { throw failure ?? ChannelError.ioOnClosedChannel }
        let id = try session.sendRequest(headers: requestHeaders(path) + metadata, endStream: false)
        waiters[id] = promise
        send(id, messages: messages, end: end)
        return id
    }

    func openAndReset(path: String, count: Int) throws {
        guard let session else { throw ChannelError.ioOnClosedChannel }
        for _ in 0..<count {
            let id = try session.sendRequest(headers: requestHeaders(path, grpc: false), endStream: false)
            flush()  // HEADERS must leave first: nghttp2 drops a request reset before it was sent
            try session.resetStream(streamID: id, errorCode: HTTP2ErrorCode.cancel)
        }
        flush()
    }

    func send(_ id: Int32, messages: [[UInt8]], end: Bool) {
        for message in messages {
            var frame = ByteBuffer()
            frame.writeInteger(UInt8(0))
            frame.writeInteger(UInt32(message.count))
            frame.writeBytes(message)
            session?.sendData(streamID: id, frame)
        }
        if end { session?.endStream(streamID: id) }
        flush()
    }
}
