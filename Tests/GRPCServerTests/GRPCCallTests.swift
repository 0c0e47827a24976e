import Gzip
import HTTP2
import NIOCore
import Testing

@testable import GRPCServer

/// gRPC semantics over an EmbeddedChannel: no sockets, bytes in and out.
@Suite struct GRPCCallTests {
    @Test func unaryEcho() throws {
        let log = CallLog()
        let connection = try EmbeddedConnection(methods: testMethods(log: log))
        let id = try connection.request("/test.Echo/Echo", extra: [HTTP2Header("x-user", "ana")])
        connection.send(id, grpcFrame([1, 2, 3]), end: true)
        try connection.pump()
        #expect(connection.headerBlocks(id).first?.first(":status") == "200")
        #expect(connection.headerBlocks(id).first?.first("content-type") == "application/grpc")
        #expect(connection.messages(id) == [[1, 2, 3]])
        #expect(connection.trailer(id, "grpc-status") == "0")
        #expect(log.all == ["receive 3", "end"])
        #expect(connection.closeCode(id) == 0)
    }

    @Test func serverStreamingWithTrailersAndMessage() throws {
        let connection = try EmbeddedConnection(methods: testMethods(log: CallLog()))
        let id = try connection.request("/test.Echo/Count")
        connection.send(id, grpcFrame([4]), end: true)
        try connection.pump()
        #expect(connection.messages(id) == [[0], [1], [2], [3]])
        #expect(connection.headerBlocks(id).count == 2)
        #expect(connection.trailer(id, "grpc-status") == "0")
        #expect(connection.trailer(id, "grpc-message") == "done")
        #expect(connection.trailer(id, "x-count") == "4")
    }

    @Test func bidiEchoesAsMessagesArrive() throws {
        let log = CallLog()
        let connection = try EmbeddedConnection(methods: testMethods(log: log))
        let id = try connection.request("/test.Echo/Echo")
        connection.send(id, grpcFrame([1]))
        try connection.pump()
        #expect(connection.messages(id) == [[1]])
        connection.send(id, grpcFrame([2, 2]), end: true)
        try connection.pump()
        #expect(connection.messages(id) == [[1], [2, 2]])
        #expect(connection.trailer(id, "grpc-status") == "0")
    }

    @Test func messageSplitAcrossFramesAndSeveralInOneFrame() throws {
        let log = CallLog()
        let connection = try EmbeddedConnection(methods: testMethods(log: log))
        let id = try connection.request("/test.Echo/Echo")
        let big = grpcFrame([UInt8](repeating: 7, count: 100_000))
        for start in stride(from: 0, to: big.count, by: 997) {
            connection.send(id, Array(big[start..<min(start + 997, big.count)]))
            try connection.pump()  // each chunk in its own DATA frame
        }
        connection.send(id, grpcFrame([1]) + grpcFrame([]) + grpcFrame([2, 3]), end: true)
        try connection.pump()
        #expect(log.all == ["receive 100000", "receive 1", "receive 0", "receive 2", "end"])
        #expect(connection.messages(id).map(\.count) == [100_000, 1, 0, 2])
    }

    @Test func unknownMethodIsUnimplementedTrailersOnly() throws {
        let connection = try EmbeddedConnection(methods: testMethods(log: CallLog()))
        let id = try connection.request("/test.Echo/Nope")
        connection.send(id, grpcFrame([1]), end: true)
        try connection.pump()
        #expect(connection.headerBlocks(id).count == 1)
        #expect(connection.trailer(id, ":status") == "200")
        #expect(connection.trailer(id, "grpc-status") == "12")
    }

    @Test(arguments: [
        ("application/grpc", true), ("application/grpc+proto", true), ("application/grpc;charset=utf-8", true),
        ("Application/GRPC", true), ("application/grpc-web", false), ("application/grpcx", false),
        ("application/json", false), ("text/plain", false),
    ])
    func grpcContentTypes(value: String, accepted: Bool) {
        #expect(GRPCConnectionHandler.isGRPCContentType(value) == accepted)
    }

    @Test func wrongContentTypeIs415() throws {
        let connection = try EmbeddedConnection(methods: testMethods(log: CallLog()))
        let id = try connection.request("/test.Echo/Echo", contentType: "application/json")
        try connection.pump()
        #expect(connection.trailer(id, ":status") == "415")
        #expect(connection.trailer(id, "grpc-status") != nil)
        #expect(connection.closeCode(id) == 0)  // RST_STREAM NO_ERROR: the client had not finished
    }

    @Test func oversizedLengthPrefixIsResourceExhausted() throws {
        let log = CallLog()
        var configuration = GRPCServerConfiguration()
        configuration.maxMessageBytes = 1000
        let connection = try EmbeddedConnection(methods: testMethods(log: log), configuration: configuration)
        let id = try connection.request("/test.Echo/Echo")
        connection.send(id, [0, 0, 0, 0x10, 0])  // 4096 bytes announced, none sent
        try connection.pump()
        #expect(connection.trailer(id, "grpc-status") == "8")
        #expect(log.all == ["cancelled"])
    }

    @Test func truncatedMessageIsAnError() throws {
        let log = CallLog()
        let connection = try EmbeddedConnection(methods: testMethods(log: log))
        let id = try connection.request("/test.Echo/Echo")
        connection.send(id, Array(grpcFrame([1, 2, 3, 4]).prefix(7)), end: true)
        try connection.pump()
        #expect(connection.trailer(id, "grpc-status") == "13")
        #expect(connection.trailer(id, "grpc-message") == "truncated message")
        #expect(log.all == ["cancelled"])
    }

    @Test func gzipRequestIsDecoded() throws {
        let log = CallLog()
        let connection = try EmbeddedConnection(methods: testMethods(log: log))
        let id = try connection.request("/test.Echo/Echo", extra: [HTTP2Header("grpc-encoding", "gzip")])
        let plain = [UInt8](repeating: 42, count: 5000)
        connection.send(id, grpcFrame(try GzipCompressor().compress(plain), compressed: true), end: true)
        try connection.pump()
        #expect(connection.messages(id) == [plain])
        #expect(connection.trailer(id, "grpc-status") == "0")
    }

    @Test func compressedFlagWithoutEncodingIsInternal() throws {
        let connection = try EmbeddedConnection(methods: testMethods(log: CallLog()))
        let id = try connection.request("/test.Echo/Echo")
        connection.send(id, grpcFrame([1, 2], compressed: true), end: true)
        try connection.pump()
        #expect(connection.trailer(id, "grpc-status") == "13")
    }

    @Test func gzipBombIsResourceExhausted() throws {
        var configuration = GRPCServerConfiguration()
        configuration.maxMessageBytes = 10_000
        let connection = try EmbeddedConnection(methods: testMethods(log: CallLog()), configuration: configuration)
        let id = try connection.request("/test.Echo/Echo", extra: [HTTP2Header("grpc-encoding", "gzip")])
        let bomb = try GzipCompressor().compress([UInt8](repeating: 0, count: 1_000_000))
        #expect(bomb.count < 10_000)
        connection.send(id, grpcFrame(bomb, compressed: true), end: true)
        try connection.pump()
        #expect(connection.trailer(id, "grpc-status") == "8")
    }

    @Test func unknownEncodingIsUnimplemented() throws {
        let connection = try EmbeddedConnection(methods: testMethods(log: CallLog()))
        let id = try connection.request("/test.Echo/Echo", extra: [HTTP2Header("grpc-encoding", "snappy")])
        try connection.pump()
        #expect(connection.trailer(id, "grpc-status") == "12")
        #expect(connection.trailer(id, "grpc-accept-encoding") == "identity,gzip")
    }

    @Test func deadlineExpiryCancelsTheHandler() throws {
        let log = CallLog()
        let connection = try EmbeddedConnection(methods: testMethods(log: log))
        let id = try connection.request("/test.Echo/Slow", extra: [HTTP2Header("grpc-timeout", "100m")])
        try connection.pump()
        #expect(connection.trailer(id, "grpc-status") == nil)
        connection.channel.embeddedEventLoop.advanceTime(by: .milliseconds(150))
        try connection.pump()
        #expect(connection.trailer(id, "grpc-status") == "4")
        #expect(log.all == ["deadline true", "cancelled"])
    }

    @Test func clientResetCancelsTheHandler() throws {
        let log = CallLog()
        let connection = try EmbeddedConnection(methods: testMethods(log: log))
        let id = try connection.request("/test.Echo/Slow")
        try connection.pump()
        try connection.client.resetStream(streamID: id, errorCode: HTTP2ErrorCode.cancel)
        try connection.pump()
        #expect(log.all == ["deadline false", "cancelled"])
    }

    /// A handler may keep its writer after the connection is gone. The writer holds its
    /// connection strongly while the stream lives; the connection's teardown must let go, so the
    /// connection is freed, and the kept writer sends nothing when asked to.
    @Test func aWriterKeptAfterTheConnectionClosedNeitherKeepsItNorSends() throws {
        let log = CallLog()
        let writers = WriterBox()
        weak var handler: GRPCConnectionHandler?
        let connection = try EmbeddedConnection(methods: testMethods(log: log, writers: writers))
        handler = try connection.channel.pipeline.syncOperations.handler(type: GRPCConnectionHandler.self)
        let id = try connection.request("/test.Echo/Hold")
        connection.send(id, grpcFrame([1]))
        try connection.pump()
        #expect(writers.writers.count == 1)
        #expect(writers.writers.first?.isFinished == false)
        #expect(handler != nil)
        try connection.channel.close().wait()
        connection.channel.embeddedEventLoop.run()
        while try connection.channel.readOutbound(as: ByteBuffer.self) != nil {}  // what closing sent
        #expect(handler == nil)  // freed although the writer is still kept
        #expect(log.all.last == "cancelled")
        let writer = try #require(writers.writers.first)
        #expect(writer.isFinished)
        writer.send(ByteBuffer(bytes: [1]))
        writer.finish(.ok)
        connection.channel.embeddedEventLoop.run()
        #expect(try connection.channel.readOutbound(as: ByteBuffer.self) == nil)
    }

    @Test func manualFlowControlHoldsTheWindowUntilReleased() throws {
        let log = CallLog()
        let writers = WriterBox()
        var configuration = GRPCServerConfiguration()
        configuration.initialStreamWindowBytes = 4_000
        configuration.heldBytesHighWater = 4_000
        let connection = try EmbeddedConnection(
            methods: testMethods(log: log, writers: writers), configuration: configuration)
        try connection.pump()  // SETTINGS first
        let id = try connection.request("/test.Echo/Hold", extra: [HTTP2Header("x-user", "ana")])
        for _ in 0..<5 { connection.send(id, grpcFrame([UInt8](repeating: 1, count: 2_995))) }  // 5 × 3,000 wire bytes
        try connection.pump()
        // Chunks arriving while held < 4,000 are consumed; once held reaches the mark the rest is
        // deferred, so the client's window stays shut with messages still unsent.
        func received() -> Int { log.all.filter { $0.hasPrefix("receive") }.count }
        let blockedAt = received()
        #expect(blockedAt >= 2 && blockedAt < 5)
        #expect(connection.client.remoteWindow(streamID: id) == 0)
        try connection.pump()
        #expect(received() == blockedAt)  // nothing moves without a release
        var releases = 0
        while received() < 5 && releases < 10 {
            writers.writers.first?.releaseOldestMessage()
            releases += 1
            try connection.pump()
        }
        #expect(received() == 5)
        #expect(releases == blockedAt - 1)  // the window reopened once held fell below 4,000
    }

    @Test func percentEncodedGRPCMessage() {
        let status = GRPCStatus(.internalError, "bad 100% → ok\n")
        #expect(status.percentEncodedMessage == "bad 100%25 %E2%86%92 ok%0A")
        #expect(GRPCStatus.percentDecoded(status.percentEncodedMessage) == status.message)
    }

    @Test(arguments: [
        ("1S", TimeAmount.seconds(1)), ("250m", .milliseconds(250)), ("12345678n", .nanoseconds(12_345_678)),
    ])
    func grpcTimeoutParses(text: String, amount: TimeAmount) {
        #expect(GRPCTimeout.parse(text) == amount)
    }

    @Test(arguments: ["", "S", "123456789S", "10x", "-1S"])
    func malformedGRPCTimeoutIsRejected(text: String) {
        #expect(GRPCTimeout.parse(text) == nil)
    }

    @Test(arguments: ["GET / HTTP/1.1\r\nHost: x\r\n\r\n", "POST /a.B/C HTTP/1.1\r\n", "PRI * HTTP/1.1\r\n"])
    func http1RequestGetsA505Answer(request: String) throws {
        let connection = try EmbeddedConnection(methods: [])
        try connection.channel.writeInbound(ByteBuffer(string: request))
        connection.channel.embeddedEventLoop.run()
        let answer = try connection.channel.readOutbound(as: ByteBuffer.self)
        #expect(answer.map { String(buffer: $0) }?.hasPrefix("HTTP/1.1 505") == true)
        #expect(!connection.channel.isActive)
    }

    @Test func garbagePrefaceClosesTheConnection() throws {
        let connection = try EmbeddedConnection(methods: [])
        try connection.channel.writeInbound(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x00, 0xA5]))  // a TLS hello
        connection.channel.embeddedEventLoop.run()
        #expect(try connection.channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(!connection.channel.isActive)
    }
}

@Suite struct GRPCWriterTests {
    @Test func pendingBytesShowWhatTheClientWindowHoldsBack() throws {
        let writers = WriterBox()
        let connection = try EmbeddedConnection(methods: testMethods(log: CallLog(), writers: writers))
        let id = try connection.request("/test.Echo/Hold")
        try connection.pump()
        let writer = try #require(writers.writers.first)
        writer.send(ByteBuffer(repeating: 3, count: 100_000))
        #expect(writer.pendingBytes == 100_005)
        try connection.pump()
        #expect(writer.pendingBytes == 0)
        writer.finish(.ok)
        writer.send(ByteBuffer(repeating: 3, count: 10))  // ignored after finish
        writer.finish(GRPCStatus(.internalError))  // idempotent
        try connection.pump()
        #expect(connection.messages(id).map(\.count) == [100_000])
        #expect(connection.trailer(id, "grpc-status") == "0")
        #expect(connection.closeCode(id) == 0)  // reset NO_ERROR: the client was still open
    }
}
