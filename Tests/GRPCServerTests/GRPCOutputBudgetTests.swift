import HTTP2
import NIOCore
import Testing

@testable import GRPCServer

/// What the server holds for clients that do not read their answers stays bounded.
@Suite struct GRPCOutputBudgetTests {
    /// A client that never opens its window and keeps sending on a PublishStream-like call.
    @Test func aStreamWhoseAnswersAreNotReadStopsBeingRead() throws {
        let log = CallLog()
        var configuration = GRPCServerConfiguration()
        configuration.initialStreamWindowBytes = 16 << 10
        configuration.streamOutputHighWater = 16 << 10
        configuration.outputBudget = GRPCOutputBudget(limitBytes: 64 << 20)
        let connection = try EmbeddedConnection(
            methods: testMethods(log: log), configuration: configuration, clientWindowBytes: 0)
        try connection.pump()
        let stream = try connection.request("/test.Echo/Ack")
        for _ in 0..<10_000 { connection.send(stream, grpcFrame([UInt8](repeating: 3, count: 100))) }
        try connection.pump()
        let delivered = log.all.filter { $0 == "ack" }.count
        // The window the server gave, not the client's 10,000 messages: about (16 KiB of output
        // + 16 KiB of window) ÷ 105 bytes per message.
        #expect(delivered > 100)
        #expect(delivered < 600, "the server kept reading a client that reads nothing: \(delivered) messages")
        #expect(configuration.outputBudget.usedBytes < 700 << 10)
    }

    @Test func anAnswerThatDoesNotFitTheBudgetIsRefusedAndReadingStops() throws {
        let log = CallLog()
        var configuration = GRPCServerConfiguration()
        configuration.outputBudget = GRPCOutputBudget(limitBytes: 100 << 10)
        let stuck = try EmbeddedConnection(
            methods: testMethods(log: log), configuration: configuration, clientWindowBytes: 0)
        let reader = try EmbeddedConnection(methods: testMethods(log: log), configuration: configuration)
        try stuck.pump()
        try reader.pump()
        // 90 KiB wait for a client that reads nothing: the budget is nearly spent.
        let held = try stuck.request("/test.Echo/Big")
        stuck.send(held, grpcFrame([90]), end: true)
        try stuck.pump()
        #expect(configuration.outputBudget.usedBytes >= 90 << 10)
        // Another client's large answer is refused; a small one is served.
        let big = try reader.request("/test.Echo/Big")
        reader.send(big, grpcFrame([50]), end: true)
        let small = try reader.request("/test.Echo/Big")
        reader.send(small, grpcFrame([5]), end: true)
        try reader.pump()
        #expect(reader.trailer(big, "grpc-status") == "8")  // RESOURCE_EXHAUSTED
        #expect(reader.trailer(small, "grpc-status") == "0")
        #expect(reader.messages(small).count == 5)
        // Once the stuck stream is gone its bytes leave the budget.
        try stuck.client.resetStream(streamID: held, errorCode: HTTP2ErrorCode.cancel)
        try stuck.pump()
        #expect(configuration.outputBudget.usedBytes == 0)
    }

    @Test func aConnectionThatLeavesItsAnswersUnreadGetsNoNewWork() throws {
        let log = CallLog()
        let connection = try EmbeddedConnection(methods: testMethods(log: log), clientWindowBytes: 0)
        try connection.pump()
        var calls: [Int32] = []
        for _ in 0..<5 {  // 5 × 255 KiB, none of it read
            let id = try connection.request("/test.Echo/Big")
            connection.send(id, grpcFrame([255]), end: true)
            try connection.pump()
            calls.append(id)
        }
        let refused = try connection.request("/test.Echo/One")
        connection.send(refused, grpcFrame([1]), end: true)
        try connection.pump()
        #expect(connection.trailer(refused, "grpc-status") == "8")
        #expect(!log.all.contains("receive 1"), "the refused call reached its handler")
        // The unread answers go when their streams do, and the connection takes new work again.
        for id in calls { try connection.client.resetStream(streamID: id, errorCode: HTTP2ErrorCode.cancel) }
        try connection.pump()
        let handler = try connection.channel.pipeline.syncOperations.handler(type: GRPCConnectionHandler.self)
        #expect(handler.unreadOutputBytes == 0)
        let accepted = try connection.request("/test.Echo/One")
        connection.send(accepted, grpcFrame([1]), end: true)
        try connection.pump()
        #expect(log.all.contains("receive 1"))
    }
}

/// Answers with `count` messages of 1 KiB, never more than `highWater` waiting for the client's
/// window: it pauses with `whenPendingBelow` and goes on when the client reads.
final class PacedHandler: GRPCCallHandler {
    static let count = 200
    static let highWater = 8 << 10
    let writer: GRPCResponseWriter
    let log: CallLog
    var sent = 0
    init(_ writer: GRPCResponseWriter, _ log: CallLog) {
        self.writer = writer
        self.log = log
    }
    func receive(_ message: ByteBuffer) { produce() }
    func produce() {
        log.add("resume \(sent)")
        while sent < Self.count {
            if writer.pendingBytes >= Self.highWater {
                log.add("pending \(writer.pendingBytes)")
                return writer.whenPendingBelow(Self.highWater) { self.produce() }
            }
            writer.send(ByteBuffer(repeating: 7, count: 1024))
            sent += 1
        }
        writer.finish(.ok)
    }
    func endOfInput() {}
    func cancelled() { log.add("cancelled") }
}

@Suite struct GRPCPacedOutputTests {
    /// No timer runs on the embedded loop: only the client's WINDOW_UPDATEs can wake the producer.
    @Test func aPausedProducerGoesOnWhenTheClientReads() throws {
        let log = CallLog()
        let method = GRPCMethod(path: "/test.Echo/Paced", requests: .one) { _, writer in PacedHandler(writer, log) }
        let connection = try EmbeddedConnection(methods: [method], clientWindowBytes: 16 << 10)
        try connection.pump()
        let stream = try connection.request("/test.Echo/Paced")
        connection.send(stream, grpcFrame([1]), end: true)
        try connection.pump()
        // The client's 16 KiB window, then at most the high water waiting: not all 200 KiB.
        let pendings = log.all.compactMap { $0.hasPrefix("pending ") ? Int($0.dropFirst(8)) : nil }
        #expect(!pendings.isEmpty && pendings.allSatisfy { $0 < PacedHandler.highWater + 1029 })
        #expect(connection.messages(stream).count < 40)
        // The client reads what arrived, a window at a time, until the call ends.
        var read = 0
        for _ in 0..<500 where connection.trailer(stream, "grpc-status") == nil {
            let received = connection.body(stream).count
            try connection.client.consume(streamID: stream, bytes: received - read)
            read = received
            try connection.pump()
        }
        #expect(connection.trailer(stream, "grpc-status") == "0")
        #expect(connection.messages(stream).count == PacedHandler.count)
        #expect(log.all.filter { $0.hasPrefix("resume") }.count > 10)
    }

    @Test func aCancelledCallIsNotWokenUp() throws {
        let log = CallLog()
        let method = GRPCMethod(path: "/test.Echo/Paced", requests: .one) { _, writer in PacedHandler(writer, log) }
        let connection = try EmbeddedConnection(
            methods: [method] + testMethods(log: CallLog()), clientWindowBytes: 16 << 10)
        try connection.pump()
        let stream = try connection.request("/test.Echo/Paced")
        connection.send(stream, grpcFrame([1]), end: true)
        try connection.pump()
        try connection.client.resetStream(streamID: stream, errorCode: HTTP2ErrorCode.cancel)
        try connection.pump()
        #expect(log.all.last == "cancelled")
        // Another stream's traffic flushes the connection; the cancelled producer stays asleep.
        let other = try connection.request("/test.Echo/Big")
        connection.send(other, grpcFrame([1]), end: true)
        try connection.pump()
        #expect(connection.trailer(other, "grpc-status") == "0")
        #expect(log.all.last == "cancelled", "\(log.all)")
    }
}
