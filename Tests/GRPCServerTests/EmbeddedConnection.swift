import HTTP2
import Logging
import NIOCore
import NIOEmbedded

@testable import GRPCServer

/// A server connection on an EmbeddedChannel driven by an in-memory client HTTP2Session.
/// Single-threaded: create and use on one thread.
final class EmbeddedConnection {
    let channel = EmbeddedChannel()
    let client: HTTP2Session
    var events: [HTTP2Event] = []

    /// `clientWindowBytes`: the window the client announces for what it receives (0: it reads nothing).
    init(
        methods: [GRPCMethod], configuration: GRPCServerConfiguration = GRPCServerConfiguration(),
        clientWindowBytes: Int? = nil
    ) throws {
        let handler = GRPCConnectionHandler(
            configuration: configuration,
            methods: Dictionary(methods.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a }), connectionNumber: 1,
            logger: Logger(label: "test"))
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        var settings = HTTP2Settings()
        settings.automaticWindowUpdate = clientWindowBytes == nil
        if let clientWindowBytes { settings.initialWindowBytes = clientWindowBytes }
        client = try HTTP2Session(role: .client, settings: settings)
    }

    deinit {
        // Closing breaks the channel ↔ pipeline ↔ handler cycle, so the session is freed.
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }

    /// Moves bytes both ways and runs the loop until quiet.
    func pump() throws {
        for _ in 0..<200 {
            var out = ByteBuffer()
            events += try client.drainOutput(into: &out)
            if out.readableBytes > 0 && channel.isActive { try channel.writeInbound(out) }
            channel.embeddedEventLoop.run()
            var moved = out.readableBytes > 0
            while let back = try channel.readOutbound(as: ByteBuffer.self) {
                events += try client.receive(back)
                moved = true
            }
            if !moved { return }
        }
    }

    func request(_ path: String, extra: [HTTP2Header] = [], contentType: String = "application/grpc") throws -> Int32 {
        try client.sendRequest(
            headers: [
                HTTP2Header(":method", "POST"), HTTP2Header(":scheme", "http"), HTTP2Header(":path", path),
                HTTP2Header(":authority", "localhost"), HTTP2Header("content-type", contentType),
                HTTP2Header("te", "trailers"),
            ] + extra, endStream: false)
    }

    func send(_ stream: Int32, _ bytes: [UInt8], end: Bool = false) {
        client.sendData(streamID: stream, ByteBuffer(bytes: bytes))
        if end { client.endStream(streamID: stream) }
    }

    func headerBlocks(_ stream: Int32) -> [[HTTP2Header]] {
        events.compactMap {
            if case .headers(stream, let headers, _) = $0 { return headers }
            return nil
        }
    }

    /// The value of `name` in the last header block (trailers, or Trailers-Only headers).
    func trailer(_ stream: Int32, _ name: String) -> String? { headerBlocks(stream).last?.first(name) }

    func messages(_ stream: Int32) -> [[UInt8]] { grpcMessages(body(stream)) }

    /// Every DATA byte the client received on `stream`.
    func body(_ stream: Int32) -> [UInt8] {
        events.flatMap { event -> [UInt8] in
            if case .data(stream, let bytes) = event { return Array(bytes.readableBytesView) }
            return []
        }
    }

    func closeCode(_ stream: Int32) -> UInt32? {
        for case .streamClosed(stream, let code) in events { return code }
        return nil
    }
}
