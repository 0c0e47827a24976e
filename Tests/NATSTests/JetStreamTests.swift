import Foundation
import NATS
import Testing

/// A real `nats-server -js` on a free port with its store in a temporary folder; restartable on it.
final class JetStreamServer {
    let port: Int
    let store: String
    /// The server's JetStream domain (nil: none).
    let domain: String?
    private var process: Process?

    /// More of the server's configuration (leaf nodes), with `domain`.
    let extraConfig: String

    init(port: Int? = nil, domain: String? = nil, extraConfig: String = "") throws {
        self.port = try port ?? Self.freePort()
        self.domain = domain
        self.extraConfig = extraConfig
        store = NSTemporaryDirectory() + "mesgate-nats-\(UUID().uuidString)"
        try start()
    }

    var url: String { "nats://127.0.0.1:\(port)" }

    func start() throws {
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let binary else {
            throw TestFailure("nats-server is not installed (apt-get install nats-server; scripts/test installs it)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-js", "-a", "127.0.0.1", "-p", "\(port)", "-sd", store]
        if let domain {
            try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
            let config = store + ".conf"
            try "jetstream { store_dir: \"\(store)\", domain: \(domain) }\n\(extraConfig)\n".write(
                toFile: config, atomically: true, encoding: .utf8)
            process.arguments = ["-c", config, "-a", "127.0.0.1", "-p", "\(port)"]
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if Self.listening(port) { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TestFailure("nats-server did not listen on \(port) within 20 s")
    }

    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: store)
        try? FileManager.default.removeItem(atPath: store + ".conf")
    }

    static func listening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw TestFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The libnats wrapper against a real JetStream server (Debian's nats-server 2.9).
@Suite(.serialized) struct JetStreamTests {
    func settings(_ name: String) -> JetStream.StreamSettings {
        var settings = JetStream.StreamSettings(name: name, subjects: ["plant.\(name).>"])
        settings.maxAgeSeconds = 3600
        return settings
    }

    @Test func aStreamIsMadeOnceAndAMessageIdIsStoredOnce() throws {
        let server = try JetStreamServer()
        let connection = try NATSConnection(servers: [server.url])
        defer { connection.close() }
        #expect(connection.isConnected)
        let js = try JetStream(connection)
        #expect(try js.addStreamIfMissing(settings("A")) == true)
        #expect(try js.addStreamIfMissing(settings("A")) == false)
        #expect(try js.lastMessage(stream: "A") == nil)

        let message = NATSMessage(
            subject: "plant.A.event", headers: ["Mesgate-Plant": "A", "Mesgate-Sequence": "1"], body: [0, 1, 2, 255])
        let first = try js.publish(message, messageID: "A-1")
        let again = try js.publish(message, messageID: "A-1")
        let second = try js.publish(NATSMessage(subject: "plant.A.event", body: Array("two".utf8)), messageID: "A-2")
        #expect(first.stream == "A" && first.sequence == 1 && !first.duplicate)
        #expect(again.sequence == 1 && again.duplicate)
        #expect(second.sequence == 2 && !second.duplicate)

        let last = try js.lastMessage(stream: "A", subject: "plant.A.event")
        #expect(last?.body == Array("two".utf8))
        let firstBack = try js.lastMessage(stream: "A", subject: "plant.A.event")
        #expect(firstBack?.subject == "plant.A.event")
    }

    @Test func headersAndBytesRoundTrip() throws {
        let server = try JetStreamServer()
        let connection = try NATSConnection(servers: [server.url])
        defer { connection.close() }
        let js = try JetStream(connection)
        try js.addStreamIfMissing(settings("H"))
        let body = (0..<1000).map { UInt8($0 % 256) }
        let headers = ["Mesgate-Plant": "H", "Mesgate-Store": "0123abcd", "Mesgate-Client": "line 7/ä"]
        _ = try js.publish(NATSMessage(subject: "plant.H.hold", headers: headers, body: body), messageID: "H-hold-1")
        let back = try #require(try js.lastMessage(stream: "H"))
        #expect(back.body == body)
        #expect(back.subject == "plant.H.hold")
        for (key, value) in headers { #expect(back.headers[key] == value, "\(key)") }
        #expect(back.headers["Nats-Msg-Id"] == "H-hold-1")
    }

    @Test func aPublishWithoutTheServerFailsWithinItsWaitAndWorksWhenItIsBack() throws {
        let server = try JetStreamServer()
        var options = NATSConnection.Options()
        options.reconnectWaitMs = 100
        let connection = try NATSConnection(servers: [server.url], options: options)
        defer { connection.close() }
        let js = try JetStream(connection, waitMs: 1000)
        try js.addStreamIfMissing(settings("R"))
        _ = try js.publish(NATSMessage(subject: "plant.R.event", body: [1]), messageID: "R-1")

        server.stop()
        let began = Date()
        let error = #expect(throws: NATSError.self) {
            _ = try js.publish(NATSMessage(subject: "plant.R.event", body: [2]), messageID: "R-2", maxWaitMs: 1000)
        }
        #expect(Date().timeIntervalSince(began) < 10, "the publish waited \(Date().timeIntervalSince(began)) s")
        #expect(error?.description.contains("not acknowledged") == true, "\(String(describing: error))")

        try server.start()  // the same store: the stream and its first message are still there
        var ack: JetStream.Ack?
        let deadline = Date().addingTimeInterval(20)
        while ack == nil && Date() < deadline {
            ack = try? js.publish(NATSMessage(subject: "plant.R.event", body: [2]), messageID: "R-2", maxWaitMs: 1000)
            if ack == nil { Thread.sleep(forTimeInterval: 0.2) }
        }
        #expect(connection.isConnected)
        #expect(ack?.sequence == 2, "\(String(describing: ack))")
    }

    @Test func aConnectionMadeBeforeItsServerStartsConnectsWhenItDoes() throws {
        let port = try JetStreamServer.freePort()
        var options = NATSConnection.Options()
        options.reconnectWaitMs = 100
        let connection = try NATSConnection(servers: ["nats://127.0.0.1:\(port)"], options: options)
        defer { connection.close() }
        #expect(!connection.isConnected)  // returned at once, trying in the background
        let server = try JetStreamServer(port: port)
        let deadline = Date().addingTimeInterval(20)
        while !connection.isConnected && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(connection.isConnected)
        let js = try JetStream(connection)
        try js.addStreamIfMissing(settings("L"))
        #expect(try js.publish(NATSMessage(subject: "plant.L.event", body: [7]), messageID: "L-1").sequence == 1)
        withExtendedLifetime(server) {}
    }
}
