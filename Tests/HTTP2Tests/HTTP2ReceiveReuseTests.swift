import Foundation
import HTTP2
import NIOCore
import Testing

/// What the session reuses on the way in (header strings seen lately, slices of the received
/// bytes for DATA) must never show in what the owner gets.
@Suite struct HTTP2ReceiveReuseTests {
    /// More distinct long values than the ring of recent strings holds, each sent twice, beside
    /// fields repeated on every request: every request's fields come out exactly as sent.
    @Test func headerFieldsComeOutAsSentWhileStringsAreReused() throws {
        let client = try HTTP2Session(role: .client, settings: clientSettings())
        let server = try HTTP2Session(role: .server)
        var sent: [Int32: [HTTP2Header]] = [:]
        var received: [HTTP2Event] = []
        for round in 0..<2 {
            for i in 0..<40 {
                let headers =
                    requestHeaders + [
                        HTTP2Header("user-agent", "a-client-with-a-long-name/1.0"),
                        HTTP2Header("x-long-value-\(i % 3)", "value number \(i) is longer than fifteen bytes"),
                        HTTP2Header("x-short", "v\(i)"), HTTP2Header("x-empty", ""),
                    ]
                let id = try client.sendRequest(headers: headers, endStream: true)
                sent[id] = headers
                if i % 10 == 9 || round == 1 { received += try exchange(client, server).server }
            }
        }
        received += try exchange(client, server).server
        #expect(sent.count == 80)
        for (id, headers) in sent {
            let blocks = headerBlocks(received, stream: id)
            #expect(blocks.count == 1)
            #expect(blocks.first?.headers == headers)
        }
    }

    /// Values of one length, many more than HPACK's 4 KiB dynamic table holds (so nghttp2 drops
    /// and makes entries of the same size all along) and more than the ring of recent strings
    /// holds, each sent again 7 requests later and 300 later: every request's fields come out
    /// exactly as sent.
    @Test func headerFieldsComeOutAsSentWhileHPACKEvictsTheirEntries() throws {
        let client = try HTTP2Session(role: .client, settings: clientSettings())
        let server = try HTTP2Session(role: .server)
        var sent: [Int32: [HTTP2Header]] = [:]
        var received: [HTTP2Event] = []
        for i in 0..<600 {
            // Each value again 7 requests later (likely still in the table), and 300 later (gone).
            let n = i % 2 == 0 ? i / 7 : (i + 300) % 600
            let headers = requestHeaders + [HTTP2Header("x-value", String(format: "value-%06d-of-the-same-length", n))]
            let id = try client.sendRequest(headers: headers, endStream: true)
            sent[id] = headers
            received += try exchange(client, server).server
            // Answered, so the stream closes: more than 100 open at once would be refused.
            try server.sendResponseHeaders(streamID: id, headers: [HTTP2Header(":status", "200")], endStream: true)
            received += try exchange(client, server).server
        }
        #expect(sent.count == 600)
        for (id, headers) in sent {
            #expect(headerBlocks(received, stream: id).first?.headers == headers)
        }
    }

    /// Several DATA frames in one read: each chunk is its own bytes, and stays so after the
    /// buffer the session read them from is written over.
    @Test func dataChunksAreTheirOwnBytes() throws {
        let client = try HTTP2Session(role: .client, settings: clientSettings())
        let server = try HTTP2Session(role: .server)
        let id = try client.sendRequest(headers: requestHeaders, endStream: false)
        _ = try exchange(client, server)
        var wire = ByteBuffer()
        for byte in UInt8(1)...UInt8(5) {
            client.sendData(streamID: id, ByteBuffer(repeating: byte, count: 100))
            _ = try client.drainOutput(into: &wire)
        }
        var input = wire
        let events = try server.receive(input)
        input.setBytes([UInt8](repeating: 0xEE, count: input.readableBytes), at: input.readerIndex)
        let chunks = events.compactMap { event -> [UInt8]? in
            if case .data(id, let bytes) = event { return Array(bytes.readableBytesView) }
            return nil
        }
        #expect(chunks.flatMap { $0 } == (UInt8(1)...UInt8(5)).flatMap { [UInt8](repeating: $0, count: 100) })
    }

    /// Streams answered one after another on one connection, some reset with bytes still queued:
    /// a finished stream's body is reused for the next, and none of its bytes or trailers show up
    /// there.
    @Test func responseBodiesAreTheirOwnWhenReused() throws {
        let client = try HTTP2Session(role: .client, settings: clientSettings())
        let server = try HTTP2Session(role: .server)
        for i in 0..<20 {
            let id = try client.sendRequest(headers: requestHeaders, endStream: true)
            _ = try exchange(client, server)
            try server.sendResponseHeaders(streamID: id, headers: [HTTP2Header(":status", "200")], endStream: false)
            server.sendData(streamID: id, ByteBuffer(repeating: UInt8(i), count: 10 + i))
            if i % 5 == 4 {
                try server.resetStream(streamID: id, errorCode: HTTP2ErrorCode.cancel)
                let reset = try exchange(client, server)
                #expect(dataBytes(reset.client, stream: id).isEmpty)
                #expect(closeCode(reset.client, stream: id) == HTTP2ErrorCode.cancel)
                continue
            }
            server.sendTrailers(streamID: id, [HTTP2Header("grpc-status", "\(i)")])
            let answer = try exchange(client, server)
            #expect(dataBytes(answer.client, stream: id) == [UInt8](repeating: UInt8(i), count: 10 + i))
            #expect(headerBlocks(answer.client, stream: id).last?.headers == [HTTP2Header("grpc-status", "\(i)")])
            #expect(closeCode(answer.client, stream: id) == 0)
        }
    }
}
