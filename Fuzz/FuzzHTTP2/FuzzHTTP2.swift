import HTTP2
import Logging
import NIOCore
import NIOEmbedded

@testable import GRPCServer

/// libFuzzer entry: one server connection (GRPCConnectionHandler on an EmbeddedChannel: nghttp2,
/// the gRPC deframer, gzip, routing, deadlines) fed the input as the bytes a client sent.
///
/// The first byte is the run's options (`ConnectionOptions`), the rest the connection's bytes.
/// What the server writes back is read and dropped; the channel is closed at the end so that the
/// connection's objects are freed (LeakSanitizer checks that).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let options = ConnectionOptions(data[0])
    var input = options.prependPreface ? GRPCConnectionHandler.preface : []
    input += UnsafeBufferPointer(start: data + 1, count: size - 1)
    let channel = EmbeddedChannel()
    defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
    let handler = GRPCConnectionHandler(
        configuration: options.configuration, methods: FuzzMethods.all, connectionNumber: 1, logger: logger)
    guard (try? channel.pipeline.syncOperations.addHandler(handler)) != nil,
        (try? channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()) != nil
    else { return 0 }
    let chunkSize = max(1, (input.count + options.chunks - 1) / options.chunks)
    var offset = 0
    while offset < input.count && channel.isActive {
        let end = min(input.count, offset + chunkSize)
        _ = try? channel.writeInbound(ByteBuffer(bytes: input[offset..<end]))
        channel.embeddedEventLoop.run()
        drain(channel)
        if options.gracefulShutdown && offset == 0 {
            channel.pipeline.fireUserInboundEventTriggered(GRPCConnectionHandler.GracefulShutdown())
        }
        offset = end
    }
    if options.passTime {
        // Deadlines (grpc-timeout), the final GOAWAY of a graceful shutdown.
        channel.embeddedEventLoop.advanceTime(by: .hours(1))
    }
    channel.embeddedEventLoop.run()
    drain(channel)
    return 0
}

/// Reads and drops what the server wrote.
func drain(_ channel: EmbeddedChannel) {
    while let _ = try? channel.readOutbound(as: ByteBuffer.self) {}
}

let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

/// The options byte: bit 0 prepends the client preface (so mutations need not keep it), bits 1–3
/// split the input into 1–8 reads, bit 4 begins a graceful shutdown after the first read, bit 5
/// lets an hour pass at the end (deadlines fire), bit 6 sets small limits (64-byte messages, 2
/// streams, 256-byte header lists, 1 KiB windows).
struct ConnectionOptions {
    var prependPreface: Bool
    var chunks: Int
    var gracefulShutdown: Bool
    var passTime: Bool
    var configuration = GRPCServerConfiguration()

    init(_ byte: UInt8) {
        prependPreface = byte & 1 != 0
        chunks = Int((byte >> 1) & 7) + 1
        gracefulShutdown = byte & 0x10 != 0
        passTime = byte & 0x20 != 0
        configuration.goAwayNoticeDelay = .milliseconds(500)
        if byte & 0x40 != 0 {
            configuration.maxMessageBytes = 64
            configuration.maxConcurrentStreams = 2
            configuration.maxHeaderListBytes = 256
            configuration.initialStreamWindowBytes = 1024
            configuration.connectionWindowBytes = 1024
            configuration.heldBytesHighWater = 128
        }
    }
}
