import HTTP2
import NIOCore
import Testing

@testable import GRPCServer

/// Abuse that must stay contained to one stream or one connection.
@Suite struct GRPCAbuseTests {
    @Test func manyStreamsOpenedAndResetLeaveNothingBehind() throws {
        let log = CallLog()
        let connection = try EmbeddedConnection(methods: testMethods(log: log))
        try connection.pump()
        let handler = try connection.channel.pipeline.syncOperations.handler(type: GRPCConnectionHandler.self)
        for _ in 0..<150 {
            let id = try connection.request("/test.Echo/Slow")
            try connection.pump()
            try connection.client.resetStream(streamID: id, errorCode: HTTP2ErrorCode.cancel)
        }
        try connection.pump()
        #expect(handler.streams.isEmpty)
        let opened = log.all.filter { $0.hasPrefix("deadline") }.count
        #expect(log.all.filter { $0 == "cancelled" }.count == opened)
        #expect(connection.channel.isActive)  // 150 resets are within the burst (HTTP2Settings.resetBurst)
        if connection.channel.isActive {
            let id = try connection.request("/test.Echo/Echo")
            connection.send(id, grpcFrame([1]), end: true)
            try connection.pump()
            #expect(connection.trailer(id, "grpc-status") == "0")
        }
    }

    @Test func oversizedHeaderListIsRejectedButTheConnectionServesOn() throws {
        let log = CallLog()
        var configuration = GRPCServerConfiguration()
        configuration.maxHeaderListBytes = 2_048
        let connection = try EmbeddedConnection(methods: testMethods(log: log), configuration: configuration)
        try connection.pump()
        let big = try connection.request(
            "/test.Echo/Echo", extra: [HTTP2Header("x-big", String(repeating: "b", count: 4_000))])
        connection.send(big, grpcFrame([1]), end: true)
        let fine = try connection.request("/test.Echo/Echo")
        connection.send(fine, grpcFrame([2]), end: true)
        try connection.pump()
        #expect(connection.trailer(big, ":status") == "431")
        #expect(connection.messages(fine) == [[2]])
        #expect(connection.trailer(fine, "grpc-status") == "0")
        #expect(log.all == ["receive 1", "end"])
    }

    @Test func finishedCallIsNotCancelledByItsDeadline() throws {
        let log = CallLog()
        let connection = try EmbeddedConnection(methods: testMethods(log: log))
        let id = try connection.request("/test.Echo/Echo", extra: [HTTP2Header("grpc-timeout", "1S")])
        connection.send(id, grpcFrame([1]), end: true)
        try connection.pump()
        connection.channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        try connection.pump()
        #expect(connection.trailer(id, "grpc-status") == "0")
        #expect(log.all == ["receive 1", "end"])
    }

    @Test func getRequestIsRefused() throws {
        let connection = try EmbeddedConnection(methods: testMethods(log: CallLog()))
        let id = try connection.client.sendRequest(
            headers: [
                HTTP2Header(":method", "GET"), HTTP2Header(":scheme", "http"), HTTP2Header(":path", "/test.Echo/Echo"),
                HTTP2Header(":authority", "localhost"),
            ], endStream: true)
        try connection.pump()
        #expect(connection.trailer(id, ":status") == "405")
    }
}

@Suite struct GRPCBackpressureTests {
    @Test func readsAreHeldWhileTheChannelIsNotWritable() throws {
        let connection = try EmbeddedConnection(methods: [])
        let handler = try connection.channel.pipeline.syncOperations.handler(type: GRPCConnectionHandler.self)
        connection.channel.isWritable = false
        connection.channel.read()
        #expect(handler.readHeldBack)
        connection.channel.isWritable = true
        connection.channel.pipeline.fireChannelWritabilityChanged()
        #expect(!handler.readHeldBack)
    }
}
