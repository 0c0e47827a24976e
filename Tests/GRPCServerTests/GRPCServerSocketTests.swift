import Foundation
import GRPCClient
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

@testable import GRPCServer

/// A server on 127.0.0.1 port 0 for the length of `body`, shut down gracefully afterwards.
func withServer(
    methods: [GRPCMethod], configure: (inout GRPCServerConfiguration) -> Void = { _ in },
    _ body: (GRPCServer, SocketAddress) async throws -> Void
) async throws {
    var configuration = GRPCServerConfiguration()
    configuration.port = 0
    configuration.eventLoopThreads = 1
    configuration.goAwayNoticeDelay = .milliseconds(50)
    configure(&configuration)
    let logger = Logger(label: "test")
    let server = GRPCServer(configuration: configuration, methods: methods, logger: logger)
    let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [server], logger: logger))
    let running = Task { try await group.run() }
    guard let address = await server.localAddress else {
        running.cancel()
        try await running.value
        Issue.record("server did not bind")
        return
    }
    do {
        try await body(server, address)
    } catch {
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        throw error
    }
    await group.triggerGracefulShutdown()
    try await running.value
}

@Suite struct GRPCServerSocketTests {
    let clientGroup = MultiThreadedEventLoopGroup.singleton

    @Test func unaryAndStreamingOverASocket() async throws {
        try await withServer(methods: testMethods(log: CallLog())) { _, address in
            let client = try await GRPCClient.connect(to: address, group: clientGroup)
            let echo = try await client.call("/test.Echo/Echo", [[1, 2, 3], [4]])
            #expect(echo.messages == [[1, 2, 3], [4]])
            #expect(echo.trailer("grpc-status") == "0")
            let count = try await client.call("/test.Echo/Count", [[3]])
            #expect(count.messages == [[0], [1], [2]])
            let unknown = try await client.call("/nope.No/No", [])
            #expect(unknown.trailer("grpc-status") == "12")
            try await client.channel.close()
        }
    }

    @Test func garbageClosesOnlyThatConnection() async throws {
        try await withServer(methods: testMethods(log: CallLog())) { _, address in
            let good = try await GRPCClient.connect(to: address, group: clientGroup)
            let raw = try await ClientBootstrap(group: clientGroup).connect(to: address).get()
            try await raw.writeAndFlush(ByteBuffer(bytes: [UInt8](repeating: 0xFF, count: 64)))
            try await raw.closeFuture.get()  // the server closed it
            let echo = try await good.call("/test.Echo/Echo", [[9]])
            #expect(echo.messages == [[9]])
            let fresh = try await GRPCClient.connect(to: address, group: clientGroup)
            #expect(try await fresh.call("/test.Echo/Echo", [[8]]).messages == [[8]])
            try await good.channel.close()
            try await fresh.channel.close()
        }
    }

    @Test(.enabled(if: hasGRPCIO, "needs Python grpcio (scripts/test installs it)"))
    func grpcioClientTalksToTheServer() async throws {
        let python = URL(fileURLWithPath: "/usr/bin/env")
        try await withServer(methods: testMethods(log: CallLog())) { _, address in
            let port = try #require(address.port)
            let output = try runTool(python, ["python3", "-c", grpcioScript, "127.0.0.1:\(port)"])
            #expect(
                output.split(separator: "\n") == [
                    "unary b'abc'", "gzip True", "stream [b'\\x00', b'\\x01', b'\\x02']", "bidi [b'x', b'yy']",
                    "unknown UNIMPLEMENTED", "slow DEADLINE_EXCEEDED",
                ])
        }
    }

    @Test func thousandsOfStreamsOpenedAndResetDoNotHurtOtherClients() async throws {
        let log = CallLog()
        try await withServer(methods: testMethods(log: log)) { _, address in
            let other = try await GRPCClient.connect(to: address, group: clientGroup)
            let flooder = try await GRPCClient.connect(to: address, group: clientGroup)
            try await flooder.openAndReset("/test.Echo/Slow", count: 5_000)
            #expect(try await other.call("/test.Echo/Echo", [[1]]).messages == [[1]])
            // The flooding connection was either served (every handler cancelled) or closed.
            for _ in 0..<200 {
                let opened = log.all.filter { $0.hasPrefix("deadline") }.count
                if log.all.filter({ $0 == "cancelled" }).count == opened && opened > 0 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            let opened = log.all.filter { $0.hasPrefix("deadline") }.count
            #expect(opened > 0)  // the streams did reach the server (nghttp2 closes after ~1,000)
            #expect(log.all.filter { $0 == "cancelled" }.count == opened)
            try await other.channel.close()
            try? await flooder.channel.close()
        }
    }

    @Test func gracefulShutdownSendsGoAwayAndLetsAnOpenStreamFinish() async throws {
        let log = CallLog()
        var configuration = GRPCServerConfiguration()
        configuration.port = 0
        configuration.eventLoopThreads = 1
        configuration.goAwayNoticeDelay = .milliseconds(50)
        let logger = Logger(label: "test")
        let server = GRPCServer(configuration: configuration, methods: testMethods(log: log), logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [server], logger: logger))
        let running = Task { try await group.run() }
        let address = try #require(await server.localAddress)
        let client = try await GRPCClient.connect(to: address, group: clientGroup)
        let (id, result) = try await client.start("/test.Echo/Echo", [[1]], end: false)
        while !log.all.contains("receive 1") { try await Task.sleep(for: .milliseconds(10)) }

        await group.triggerGracefulShutdown()
        var goAways: [Int32] = []
        for _ in 0..<200 where goAways.count < 2 {
            try await Task.sleep(for: .milliseconds(10))
            goAways = try await client.goAways
        }
        #expect(goAways == [Int32.max, id])  // shutdown notice, then the final GOAWAY
        try await client.send(id, [[2]], end: true)
        let finished = try await result.get()
        #expect(finished.messages == [[1], [2]])
        #expect(finished.trailer("grpc-status") == "0")
        try await running.value  // returns once the connection is done
        try await client.channel.closeFuture.get()
    }

    @Test func streamsStillOpenWhenTheGracePeriodEndsAreCancelled() async throws {
        let log = CallLog()
        var configuration = GRPCServerConfiguration()
        configuration.port = 0
        configuration.eventLoopThreads = 1
        configuration.goAwayNoticeDelay = .milliseconds(20)
        configuration.shutdownGracePeriod = .milliseconds(200)
        let logger = Logger(label: "test")
        let server = GRPCServer(configuration: configuration, methods: testMethods(log: log), logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [server], logger: logger))
        let running = Task { try await group.run() }
        let address = try #require(await server.localAddress)
        let client = try await GRPCClient.connect(to: address, group: clientGroup)
        let (_, result) = try await client.start("/test.Echo/Slow", [], end: false)
        while !log.all.contains("deadline false") { try await Task.sleep(for: .milliseconds(10)) }
        let start = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(log.all == ["deadline false", "cancelled"])
        _ = try await result.get()  // the client saw its connection go
        #expect(await server.localAddress == nil)
    }

    @Test func busyPortIsOneClearError() async throws {
        try await withServer(methods: []) { _, address in
            var configuration = GRPCServerConfiguration()
            configuration.port = try #require(address.port)
            configuration.eventLoopThreads = 1
            let second = GRPCServer(configuration: configuration, methods: [], logger: Logger(label: "test"))
            await #expect(throws: GRPCServerError.self) { try await second.run() }
            #expect(await second.localAddress == nil)
        }
    }

    @Test(.enabled(if: hasNghttp, "needs nghttp (Debian nghttp2-client; scripts/test installs it)"))
    func nghttpClientTalksToTheServer() async throws {
        let nghttp = URL(fileURLWithPath: "/usr/bin/nghttp")
        try await withServer(methods: testMethods(log: CallLog())) { _, address in
            let port = try #require(address.port)
            let get = try runTool(nghttp, ["-nv", "http://127.0.0.1:\(port)/x"])
            #expect(get.contains(":status: 405"))
            let body = FileManager.default.temporaryDirectory.appendingPathComponent("grpc-\(port).bin")
            try Data(grpcFrame([5, 6, 7])).write(to: body)
            defer { try? FileManager.default.removeItem(at: body) }
            let post = try runTool(
                nghttp,
                [
                    "-nv", "-d", body.path, "-H", "content-type: application/grpc", "-H", "te: trailers",
                    "http://127.0.0.1:\(port)/test.Echo/Echo",
                ])
            #expect(post.contains("grpc-status: 0"))
        }
    }
}

/// grpcio (Python), a real gRPC client nobody here wrote: unary, gzip, server streaming, bidi,
/// unknown method and deadline, printed one result per line.
let grpcioScript = """
    import grpc, sys
    ch = grpc.insecure_channel(sys.argv[1])
    echo = ch.unary_unary("/test.Echo/Echo")
    print("unary", echo(b"abc", timeout=5))
    print("gzip", echo(b"z" * 5000, timeout=5, compression=grpc.Compression.Gzip) == b"z" * 5000)
    print("stream", list(ch.unary_stream("/test.Echo/Count")(bytes([3]), timeout=5)))
    print("bidi", list(ch.stream_stream("/test.Echo/Echo")(iter([b"x", b"yy"]), timeout=5)))
    try:
        ch.unary_unary("/test.Echo/Nope")(b"", timeout=5)
    except grpc.RpcError as e:
        print("unknown", e.code().name)
    try:
        ch.unary_unary("/test.Echo/Slow")(b"", timeout=0.2)
    except grpc.RpcError as e:
        print("slow", e.code().name)
    """

/// Runs a tool to completion and returns its standard output.
/// With `status`, returns the exit status instead.
/// Whether Python can import grpcio here (the grpcio test is skipped, and says so, without it).
let hasGRPCIO =
    (try? runTool(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", "import grpc"], status: true)) == "0"

/// Whether Debian's `nghttp` client is installed.
let hasNghttp = FileManager.default.isExecutableFile(atPath: "/usr/bin/nghttp")

func runTool(_ tool: URL, _ arguments: [String], status: Bool = false) throws -> String {
    let process = Process()
    process.executableURL = tool
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return status ? String(process.terminationStatus) : String(decoding: output, as: UTF8.self)
}
