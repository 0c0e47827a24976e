import HTTP2
import NIOCore
import Testing

/// Moves bytes between two in-memory sessions until neither has anything to send.
func exchange(_ client: HTTP2Session, _ server: HTTP2Session) throws -> (client: [HTTP2Event], server: [HTTP2Event]) {
    var clientEvents: [HTTP2Event] = []
    var serverEvents: [HTTP2Event] = []
    for _ in 0..<100 {
        var toServer = ByteBuffer()
        clientEvents += try client.drainOutput(into: &toServer)
        if toServer.readableBytes > 0 { serverEvents += try server.receive(toServer) }
        var toClient = ByteBuffer()
        serverEvents += try server.drainOutput(into: &toClient)
        if toClient.readableBytes > 0 { clientEvents += try client.receive(toClient) }
        if toServer.readableBytes == 0 && toClient.readableBytes == 0 { break }
    }
    return (clientEvents, serverEvents)
}

let requestHeaders = [
    HTTP2Header(":method", "POST"), HTTP2Header(":scheme", "http"), HTTP2Header(":path", "/x.Y/Z"),
    HTTP2Header(":authority", "localhost"), HTTP2Header("content-type", "application/grpc"),
    HTTP2Header("te", "trailers"),
]

func headerBlocks(_ events: [HTTP2Event], stream: Int32) -> [(headers: [HTTP2Header], endStream: Bool)] {
    events.compactMap {
        if case .headers(stream, let headers, let endStream) = $0 { return (headers, endStream) }
        return nil
    }
}

func dataBytes(_ events: [HTTP2Event], stream: Int32) -> [UInt8] {
    events.flatMap { event -> [UInt8] in
        if case .data(stream, let bytes) = event { return Array(bytes.readableBytesView) }
        return []
    }
}

func closeCode(_ events: [HTTP2Event], stream: Int32) -> UInt32? {
    for case .streamClosed(stream, let code) in events { return code }
    return nil
}

func clientSettings() -> HTTP2Settings {
    var settings = HTTP2Settings()
    settings.automaticWindowUpdate = true
    return settings
}

@Suite struct HTTP2SessionTests {
    @Test func requestAndResponseWithTrailers() throws {
        let client = try HTTP2Session(role: .client, settings: clientSettings())
        let server = try HTTP2Session(role: .server)
        let id = try client.sendRequest(headers: requestHeaders, endStream: false)
        client.sendData(streamID: id, ByteBuffer(bytes: [1, 2, 3]))
        client.endStream(streamID: id)
        let first = try exchange(client, server)
        let request = headerBlocks(first.server, stream: id)
        #expect(request.count == 1)
        #expect(request.first?.headers.first(":path") == "/x.Y/Z")
        #expect(request.first?.endStream == false)
        #expect(dataBytes(first.server, stream: id) == [1, 2, 3])
        #expect(first.server.contains { if case .endStream(id) = $0 { true } else { false } })
        try server.consume(streamID: id, bytes: 3)

        try server.sendResponseHeaders(streamID: id, headers: [HTTP2Header(":status", "200")], endStream: false)
        server.sendData(streamID: id, ByteBuffer(bytes: [9, 8]))
        let middle = try exchange(client, server)
        #expect(dataBytes(middle.client, stream: id) == [9, 8])
        server.sendData(streamID: id, ByteBuffer(bytes: [7]))  // after the provider deferred
        server.sendTrailers(streamID: id, [HTTP2Header("grpc-status", "0")])
        let last = try exchange(client, server)
        #expect(dataBytes(last.client, stream: id) == [7])
        let blocks = headerBlocks(middle.client + last.client, stream: id)
        #expect(blocks.count == 2)
        #expect(blocks.last?.headers == [HTTP2Header("grpc-status", "0")])
        #expect(blocks.last?.endStream == true)
        #expect(closeCode(last.client, stream: id) == 0)
        #expect(closeCode(last.server, stream: id) == 0)
    }

    @Test func windowStaysClosedUntilConsumed() throws {
        var settings = HTTP2Settings()
        settings.initialWindowBytes = 1000
        let client = try HTTP2Session(role: .client, settings: clientSettings())
        let server = try HTTP2Session(role: .server, settings: settings)
        let id = try client.sendRequest(headers: requestHeaders, endStream: false)
        _ = try exchange(client, server)  // SETTINGS first: until then the window is 65,535
        client.sendData(streamID: id, ByteBuffer(repeating: 0xAB, count: 3000))
        let first = try exchange(client, server)
        #expect(dataBytes(first.server, stream: id).count == 1000)
        #expect(client.remoteWindow(streamID: id) == 0)
        try server.consume(streamID: id, bytes: 1000)
        let second = try exchange(client, server)
        #expect(dataBytes(second.server, stream: id).count == 1000)
    }

    @Test func oversizedHeaderListIsAnswered431WithoutHarmingTheConnection() throws {
        var settings = HTTP2Settings()
        settings.maxHeaderListBytes = 1024
        let client = try HTTP2Session(role: .client, settings: clientSettings())
        let server = try HTTP2Session(role: .server, settings: settings)
        let big = try client.sendRequest(
            headers: requestHeaders + [HTTP2Header("x-big", String(repeating: "a", count: 2000))], endStream: true)
        let fine = try client.sendRequest(headers: requestHeaders, endStream: true)
        let result = try exchange(client, server)
        #expect(headerBlocks(result.server, stream: big).isEmpty)
        #expect(headerBlocks(result.server, stream: fine).count == 1)
        #expect(headerBlocks(result.client, stream: big).first?.headers.first(":status") == "431")
        #expect(server.wantsRead)
    }

    @Test func resetAfterEndStreamResetsWhenClientStillSending() throws {
        let client = try HTTP2Session(role: .client, settings: clientSettings())
        let server = try HTTP2Session(role: .server)
        let id = try client.sendRequest(headers: requestHeaders, endStream: false)
        _ = try exchange(client, server)
        try server.sendResponseHeaders(
            streamID: id, headers: [HTTP2Header(":status", "200"), HTTP2Header("grpc-status", "12")], endStream: true)
        server.resetAfterEndStream(streamID: id)
        let result = try exchange(client, server)
        #expect(headerBlocks(result.client, stream: id).first?.endStream == true)
        #expect(closeCode(result.client, stream: id) == HTTP2ErrorCode.noError)
        #expect(closeCode(result.server, stream: id) == HTTP2ErrorCode.noError)
    }

    @Test func garbagePrefaceIsFatal() throws {
        let server = try HTTP2Session(role: .server)
        #expect {
            _ = try server.receive(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        } throws: { error in
            (error as? HTTP2Error)?.isBadClientMagic == true
        }
    }

    @Test func clientResetReachesServer() throws {
        let client = try HTTP2Session(role: .client, settings: clientSettings())
        let server = try HTTP2Session(role: .server)
        let id = try client.sendRequest(headers: requestHeaders, endStream: false)
        _ = try exchange(client, server)
        try client.resetStream(streamID: id, errorCode: HTTP2ErrorCode.cancel)
        let result = try exchange(client, server)
        #expect(closeCode(result.server, stream: id) == HTTP2ErrorCode.cancel)
    }

    @Test func shutdownNoticeThenGoAway() throws {
        let client = try HTTP2Session(role: .client, settings: clientSettings())
        let server = try HTTP2Session(role: .server)
        let id = try client.sendRequest(headers: requestHeaders, endStream: false)
        _ = try exchange(client, server)
        try server.sendShutdownNotice()
        try server.sendGoAway(errorCode: HTTP2ErrorCode.noError)
        let result = try exchange(client, server)
        let lastIDs = result.client.compactMap { event -> Int32? in
            if case .goAway(let last, _) = event { return last }
            return nil
        }
        #expect(lastIDs == [Int32.max, id])
        #expect(server.wantsRead)  // the open stream may still finish
        try server.sendResponseHeaders(streamID: id, headers: [HTTP2Header(":status", "200")], endStream: true)
        client.endStream(streamID: id)
        _ = try exchange(client, server)
        #expect(!server.wantsRead && !server.wantsWrite)
    }
}
