import NIOCore
import Testing

@testable import GRPCServer

/// `GRPCMethod.Requests.one`: the request message reaches the handler when the client half-closes,
/// and only when there was exactly one; none or two end the call with INVALID_ARGUMENT.
@Suite struct GRPCRequestCountTests {
    @Test func theOneMessageIsHandedOverAtHalfClose() throws {
        let log = CallLog()
        let connection = try EmbeddedConnection(methods: testMethods(log: log))
        let id = try connection.request("/test.Echo/One")
        connection.send(id, grpcFrame([1, 2, 3]))
        try connection.pump()
        #expect(log.all.isEmpty)
        connection.send(id, [], end: true)
        try connection.pump()
        #expect(log.all == ["receive 3", "end"])
        #expect(connection.messages(id) == [[1, 2, 3]])
        #expect(connection.trailer(id, "grpc-status") == "0")
    }

    @Test func noMessageIsInvalidArgument() throws {
        let log = CallLog()
        let connection = try EmbeddedConnection(methods: testMethods(log: log))
        let id = try connection.request("/test.Echo/One")
        connection.send(id, [], end: true)
        try connection.pump()
        #expect(connection.trailer(id, "grpc-status") == "3")
        #expect(connection.trailer(id, "grpc-message") == "One takes exactly one request message, and none came")
        #expect(log.all == ["cancelled"])
    }

    @Test func aSecondMessageIsInvalidArgumentAndNeitherIsHandled() throws {
        let log = CallLog()
        let connection = try EmbeddedConnection(methods: testMethods(log: log))
        let id = try connection.request("/test.Echo/One")
        connection.send(id, grpcFrame([1]) + grpcFrame([2]), end: true)
        try connection.pump()
        #expect(connection.trailer(id, "grpc-status") == "3")
        #expect(connection.trailer(id, "grpc-message") == "One takes exactly one request message, not two or more")
        #expect(connection.messages(id).isEmpty)
        #expect(log.all == ["cancelled"])
    }

    @Test func aStreamMethodStillGetsEveryMessageAsItComes() throws {
        let log = CallLog()
        let connection = try EmbeddedConnection(methods: testMethods(log: log))
        let id = try connection.request("/test.Echo/Echo")
        connection.send(id, grpcFrame([1]) + grpcFrame([2]))
        try connection.pump()
        #expect(log.all == ["receive 1", "receive 1"])
    }
}
