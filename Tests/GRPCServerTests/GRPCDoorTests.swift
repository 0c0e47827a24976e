import GRPCClient
import NIOCore
import NIOPosix
import Testing

@testable import GRPCServer

/// The limits at the door: connections in total and per address, the handshake deadline and the
/// idle timeout. Each attack runs beside a normal client that must still be served. Serialized:
/// the timing tests must not share the machine with a flood from the same suite.
@Suite(.serialized) struct GRPCDoorTests {
    let group = MultiThreadedEventLoopGroup.singleton

    /// Whether `channel` is closed (by the server) within `limit`.
    func closes(_ channel: any Channel, within limit: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { race in
            race.addTask {
                _ = try? await channel.closeFuture.get()
                return true
            }
            race.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await race.next() ?? false
            race.cancelAll()
            return first
        }
    }

    func raw(_ address: SocketAddress, from local: SocketAddress? = nil) async throws -> any Channel {
        var bootstrap = ClientBootstrap(group: group)
        if let local { bootstrap = bootstrap.bind(to: local) }
        return try await bootstrap.connect(to: address).get()
    }

    @Test func connectionsBeyondThePerAddressLimitAreClosedWhileOthersAreServed() async throws {
        try await withServer(methods: testMethods(log: CallLog())) { configuration in
            configuration.maxConnectionsPerAddress = 3
        } _: { _, address in
            var clients: [GRPCClient] = []
            for _ in 0..<3 { clients.append(try await GRPCClient.connect(to: address, group: group)) }
            for _ in 0..<5 {
                let extra = try await raw(address)
                #expect(await closes(extra, within: .seconds(5)), "a fourth connection from 127.0.0.1 stays open")
            }
            // The three admitted clients are served meanwhile, and so is another address.
            for client in clients { #expect(try await client.call("/test.Echo/Echo", [[7]]).messages == [[7]]) }
            let neighbour = try await GRPCClient.connect(
                to: address, from: try SocketAddress(ipAddress: "127.0.0.2", port: 0), group: group)
            #expect(try await neighbour.call("/test.Echo/Echo", [[8]]).messages == [[8]])
            // A slot freed is a slot again.
            try await clients.removeLast().channel.close()
            try await Task.sleep(for: .milliseconds(100))
            let again = try await GRPCClient.connect(to: address, group: group)
            #expect(try await again.call("/test.Echo/Echo", [[9]]).messages == [[9]])
            for client in clients + [neighbour, again] { try await client.channel.close() }
        }
    }

    @Test func connectionsBeyondTheTotalAreClosed() async throws {
        try await withServer(methods: testMethods(log: CallLog())) { configuration in
            configuration.maxConnections = 2
        } _: { _, address in
            let first = try await GRPCClient.connect(to: address, group: group)
            let second = try await GRPCClient.connect(
                to: address, from: try SocketAddress(ipAddress: "127.0.0.3", port: 0), group: group)
            let third = try await raw(address, from: try SocketAddress(ipAddress: "127.0.0.4", port: 0))
            #expect(await closes(third, within: .seconds(5)))
            #expect(try await first.call("/test.Echo/Echo", [[1]]).messages == [[1]])
            #expect(try await second.call("/test.Echo/Echo", [[2]]).messages == [[2]])
            try await first.channel.close()
            try await second.channel.close()
        }
    }

    @Test func aConnectionThatDoesNotFinishItsHandshakeIsClosed() async throws {
        try await withServer(methods: testMethods(log: CallLog())) { configuration in
            configuration.handshakeTimeout = .milliseconds(300)
        } _: { _, address in
            let silent = try await raw(address)
            let dripping = try await raw(address)
            try await dripping.writeAndFlush(ByteBuffer(string: "PRI * HTTP/2.0\r\n"))  // part of the preface
            let normal = try await GRPCClient.connect(to: address, group: group)
            #expect(await closes(silent, within: .seconds(5)))
            #expect(await closes(dripping, within: .seconds(5)))
            // The client that completed its handshake is not affected by the deadline.
            #expect(try await normal.call("/test.Echo/Echo", [[3]]).messages == [[3]])
            #expect(normal.channel.isActive)
            try await normal.channel.close()
        }
    }

    @Test func anIdleConnectionIsClosedButNotOneWithAnOpenCall() async throws {
        try await withServer(methods: testMethods(log: CallLog())) { configuration in
            configuration.idleTimeout = .seconds(1)
        } _: { _, address in
            // The busy client opens its call first (on a loaded machine connecting can take a while).
            let busy = try await GRPCClient.connect(to: address, group: group)
            let (stream, result) = try await busy.start("/test.Echo/Echo", [[5]], end: false)
            let idle = try await GRPCClient.connect(to: address, group: group)
            #expect(try await idle.call("/test.Echo/Echo", [[4]]).messages == [[4]])
            #expect(await closes(idle.channel, within: .seconds(10)), "an idle connection stays open")
            #expect(try await idle.goAways.isEmpty == false)
            // The connection with a call open for longer than the timeout is still there.
            #expect(busy.channel.isActive)
            try await busy.send(stream, [[6]], end: true)
            #expect(try await result.get().messages == [[5], [6]])
            try await busy.channel.close()
        }
    }

    /// One HTTP/2 frame: 9-byte header and payload.
    static func frame(type: UInt8, flags: UInt8, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
        let length = UInt32(payload.count)
        return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags]
            + [UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)]
            + payload
    }

    @Test func aContinuationFloodEndsThatConnectionOnly() async throws {
        try await withServer(methods: testMethods(log: CallLog())) { _, address in
            let normal = try await GRPCClient.connect(to: address, group: group)
            let attacker = try await raw(address)
            var bytes = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + Self.frame(type: 4, flags: 0, stream: 0, [])
            // HEADERS without END_HEADERS: ":method: POST" (indexed), then a literal header whose
            // value never ends, continued by CONTINUATION frames of one byte each.
            bytes += Self.frame(type: 1, flags: 0, stream: 1, [0x83, 0x00, 0x01, 0x78, 0x7F, 0xFF, 0xFF, 0x03])
            for _ in 0..<10_000 { bytes += Self.frame(type: 9, flags: 0, stream: 1, [0x61]) }
            try? await attacker.writeAndFlush(ByteBuffer(bytes: bytes))
            #expect(await closes(attacker, within: .seconds(10)), "the flooding connection stays open")
            #expect(try await normal.call("/test.Echo/Echo", [[1]]).messages == [[1]])
            try await normal.channel.close()
        }
    }

    @Test func rapidResetsEndThatConnectionOnly() async throws {
        try await withServer(methods: testMethods(log: CallLog())) { _, address in
            let normal = try await GRPCClient.connect(to: address, group: group)
            // The attacker has a loop of its own: its 20,000 requests must not hold other clients' loops.
            let attackerLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            defer { attackerLoop.shutdownGracefully { _ in } }
            let attacker = try await GRPCClient.connect(to: address, group: attackerLoop)
            try? await attacker.openAndReset("/test.Echo/Slow", count: 20_000)
            let stopped = await closes(attacker.channel, within: .seconds(10))
            let toldToGoAway = stopped ? true : (try await attacker.goAways.isEmpty == false)
            #expect(toldToGoAway, "20,000 rapid resets were accepted")
            #expect(try await normal.call("/test.Echo/Echo", [[2]]).messages == [[2]])
            try await normal.channel.close()
        }
    }
}
