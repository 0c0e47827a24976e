import Foundation
import HTTP2
import NIOCore
import NIOPosix
import Synchronization

/// A minimal h2c gRPC client for the CLI: one connection, unary calls, identity encoding.
/// `mesgate trace --server` uses it; everything runs on the channel's event loop.
struct UnaryGRPCClient {
    /// What a call returned: the response messages, or the grpc-status and message.
    struct Reply {
        var messages: [[UInt8]]
        var status: Int
        var message: String
    }

    /// No answer within the call's time (a server that accepts and says nothing, a TLS port).
    struct TimedOut: Error {}

    /// Set by the call's timer when it fires.
    private final class Expiry: Sendable {
        let fired = Atomic<Bool>(false)
    }

    let channel: any Channel
    let handler: NIOLoopBound<GRPCClientHandler>

    static func connect(host: String, port: Int, group: any EventLoopGroup, timeout: TimeAmount) async throws
        -> UnaryGRPCClient
    {
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(GRPCClientHandler(authority: "\(host):\(port)"))
                }
            }
            .connect(host: host, port: port).get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: GRPCClientHandler.self),
                eventLoop: channel.eventLoop)
        }.get()
        return UnaryGRPCClient(channel: channel, handler: handler)
    }

    /// Calls `path` with one request message (and `metadata`, e.g. authorization) and waits for the
    /// stream to close; a server-streaming answer arrives whole. The server is told the deadline
    /// (grpc-timeout); without an answer by then the connection is closed and `TimedOut` thrown.
    func call(_ path: String, _ request: [UInt8], metadata: [(String, String)] = [], timeout: TimeAmount)
        async throws -> Reply
    {
        let promise = channel.eventLoop.makePromise(of: GRPCClientHandler.Call.self)
        let handler = self.handler
        let milliseconds = max(1, timeout.nanoseconds / 1_000_000)
        let headers = metadata.map { HTTP2Header($0.0, $0.1) } + [HTTP2Header("grpc-timeout", "\(milliseconds)m")]
        let expired = Expiry()
        let channel = self.channel
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            expired.fired.store(true, ordering: .relaxed)
            channel.close(promise: nil)  // the waiting call is then answered with what came, if anything
        }
        defer { timer.cancel() }
        try await channel.eventLoop.submit {
            try handler.value.start(path: path, message: request, metadata: headers, promise: promise)
        }
        .get()
        let call = try await promise.futureResult.get()
        if expired.fired.load(ordering: .relaxed) && call.headerBlocks.last?.first("grpc-status") == nil {
            throw TimedOut()
        }
        let trailers = call.headerBlocks.last ?? []
        let status = trailers.first("grpc-status").flatMap { Int($0) } ?? 2
        let message = trailers.first("grpc-message")?.removingPercentEncoding ?? ""
        return Reply(messages: Self.messages(call.body), status: status, message: message)
    }

    func close() async { try? await channel.close() }

    /// Splits a gRPC body into messages (1-byte flag, 4-byte big-endian length, bytes).
    static func messages(_ body: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        while i + 5 <= body.count {
            let length = body[i + 1..<i + 5].reduce(0) { $0 << 8 | Int($1) }
            guard i + 5 + length <= body.count else { break }
            out.append(Array(body[i + 5..<i + 5 + length]))
            i += 5 + length
        }
        return out
    }
}

/// The client half of one HTTP/2 connection; confined to its channel's event loop.
final class GRPCClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Call {
        var headerBlocks: [[HTTP2Header]] = []
        var body: [UInt8] = []
    }

    private let authority: String
    private var session: HTTP2Session?
    private var context: ChannelHandlerContext?
    private var calls: [Int32: Call] = [:]
    private var waiters: [Int32: EventLoopPromise<Call>] = [:]

    init(authority: String) { self.authority = authority }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        var settings = HTTP2Settings()
        settings.automaticWindowUpdate = true
        session = try? HTTP2Session(role: .client, settings: settings)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
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
        for (id, waiter) in waiters { waiter.succeed(calls[id] ?? Call()) }
        waiters.removeAll()
        context.fireChannelInactive()
    }

    private func handle(_ events: [HTTP2Event]) {
        for event in events {
            switch event {
            case .headers(let id, let headers, _): calls[id, default: Call()].headerBlocks.append(headers)
            case .data(let id, let bytes): calls[id, default: Call()].body += Array(bytes.readableBytesView)
            case .streamClosed(let id, _):
                waiters.removeValue(forKey: id)?.succeed(calls.removeValue(forKey: id) ?? Call())
            case .endStream, .goAway: break
            }
        }
    }

    private func flush() {
        guard let session, let context else { return }
        var out = context.channel.allocator.buffer(capacity: 0)
        do { handle(try session.drainOutput(into: &out)) } catch { context.close(promise: nil) }
        if out.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(out), promise: nil) }
    }

    func start(path: String, message: [UInt8], metadata: [HTTP2Header] = [], promise: EventLoopPromise<Call>) throws {
        guard let session else { throw ChannelError.ioOnClosedChannel }
        let id = try session.sendRequest(
            headers: [
                HTTP2Header(":method", "POST"), HTTP2Header(":scheme", "http"), HTTP2Header(":path", path),
                HTTP2Header(":authority", authority), HTTP2Header("content-type", "application/grpc"),
                HTTP2Header("te", "trailers"),
            ] + metadata, endStream: false)
        waiters[id] = promise
        var frame: [UInt8] = [0]
        let n = UInt32(message.count)
        frame += [
            UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8),
            UInt8(truncatingIfNeeded: n),
        ]
        frame += message
        session.sendData(streamID: id, ByteBuffer(bytes: frame))
        session.endStream(streamID: id)
        flush()
    }
}
