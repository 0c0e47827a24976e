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
    }
}
