import Foundation
import Testing

@testable import NATS

/// Ordered publishing, mirrors, stream listing and the pull consumer, against a real nats-server.
@Suite(.serialized) struct PullConsumerTests {
    func messages(_ plant: String, _ range: ClosedRange<Int>) -> [(message: NATSMessage, id: String)] {
        range.map {
            (
                NATSMessage(subject: "plant.\(plant).event", headers: ["Seq": "\($0)"], body: Array("\($0)".utf8)),
                "\(plant)-\($0)"
            )
        }
    }

    func stream(_ js: JetStream, _ name: String) throws {
        var settings = JetStream.StreamSettings(name: name, subjects: ["plant.\(name).>"])
        settings.maxAgeSeconds = 3600
        try js.addStreamIfMissing(settings)
    }

    @Test func anOrderedPublishStoresEveryMessageInOrderAndRefusesABrokenChain() throws {
        let server = try JetStreamServer()
        let connection = try NATSConnection(servers: [server.url])
        defer { connection.close() }
        let js = try JetStream(connection)
        try stream(js, "O")
        let acks = try js.publishInOrder(messages("O", 1...300), after: nil, maxWaitMs: 5000)
        #expect(acks.map(\.sequence) == Array(1...300))
        #expect(acks.allSatisfy { !$0.duplicate })
        // The next round must follow O-300; one that claims to follow anything else stores nothing.
        let error = #expect(throws: NATSError.self) {
            _ = try js.publishInOrder(messages("O", 302...305), after: "O-299", maxWaitMs: 5000)
        }
        #expect(error?.jetStreamCode == 10070, "\(String(describing: error))")
        #expect(try js.lastMessage(stream: "O")?.headers["Nats-Msg-Id"] == "O-300")
        let next = try js.publishInOrder(messages("O", 301...302), after: "O-300", maxWaitMs: 5000)
        #expect(next.map(\.sequence) == [301, 302])
    }

    @Test func streamsAreListedByPrefixAndAMirrorCopiesItsOrigin() throws {
        let server = try JetStreamServer()
        let connection = try NATSConnection(servers: [server.url])
        defer { connection.close() }
        let js = try JetStream(connection)
        try stream(js, "P_A")
        try stream(js, "P_B")
        try stream(js, "Q")
        _ = try js.publishInOrder(messages("P_A", 1...20), after: nil, maxWaitMs: 5000)
        var mirror = JetStream.StreamSettings(name: "COPY_P_A", subjects: [])
        mirror.mirror = JetStream.Mirror(stream: "P_A", domain: nil)
        mirror.duplicateWindowSeconds = 0
        #expect(try js.addStreamIfMissing(mirror))
        #expect(try js.streamNames(prefix: "P_") == ["P_A", "P_B"])

        let consumer = try PullConsumer(js, PullConsumer.Settings(stream: "COPY_P_A", durable: "hub"))
        var got: [PullConsumer.Delivery] = []
        let deadline = Date().addingTimeInterval(20)
        while got.count < 20 && Date() < deadline {
            let batch = try consumer.fetch(batch: 8, waitMs: 200)
            try consumer.ack(batch)
            got += batch
        }
        #expect(got.map(\.streamSequence) == (1...20).map { UInt64($0) })
        #expect(got.map { $0.message.headers["Nats-Msg-Id"] } == (1...20).map { "P_A-\($0)" })
        #expect(got.last?.message.body == Array("20".utf8))
    }

    /// A mirror of a stream in a JetStream domain (how the hub mirrors a leaf node's plant stream):
    /// libnats 3.4.1 writes the external stream's deliver prefix unconditionally, and crashed on a
    /// NULL one (found by the leaf-node e2e test, `mesgate hub --plant-domain`).
    @Test func aMirrorAcrossADomainCopiesItsOrigin() throws {
        // A hub (domain "hub") and a plant's leaf node (domain "plantX") connected to it.
        let leafPort = try JetStreamServer.freePort()
        let hub = try JetStreamServer(domain: "hub", extraConfig: "leafnodes { listen: \"127.0.0.1:\(leafPort)\" }")
        let leaf = try JetStreamServer(
            domain: "plantX", extraConfig: "leafnodes { remotes: [ { url: \"nats-leaf://127.0.0.1:\(leafPort)\" } ] }")
        let plantConnection = try NATSConnection(servers: [leaf.url])
        defer { plantConnection.close() }
        let plant = try JetStream(plantConnection)
        try stream(plant, "P_X")
        _ = try plant.publishInOrder(messages("P_X", 1...5), after: nil, maxWaitMs: 5000)
        let connection = try NATSConnection(servers: [hub.url])
        defer { connection.close() }
        let js = try JetStream(connection)
        var mirror = JetStream.StreamSettings(name: "HUB_P_X", subjects: [])
        mirror.mirror = JetStream.Mirror(stream: "P_X", domain: "plantX")
        mirror.duplicateWindowSeconds = 0
        #expect(try js.addStreamIfMissing(mirror))
        let consumer = try PullConsumer(js, PullConsumer.Settings(stream: "HUB_P_X", durable: "hub"))
        var got: [UInt64] = []
        let deadline = Date().addingTimeInterval(20)
        while got.count < 5 && Date() < deadline {
            let batch = try consumer.fetch(batch: 5, waitMs: 200)
            try consumer.ack(batch)
            got += batch.map(\.streamSequence)
        }
        #expect(got == [1, 2, 3, 4, 5])
    }

    @Test func aPullWaitsForMessagesAndAnUnacknowledgedBatchComesAgainInOrder() throws {
        let server = try JetStreamServer()
        let connection = try NATSConnection(servers: [server.url])
        defer { connection.close() }
        let js = try JetStream(connection)
        try stream(js, "W")
        var settings = PullConsumer.Settings(stream: "W", durable: "hub")
        settings.ackWaitSeconds = 1
        settings.maxAckPending = 5
        let consumer = try PullConsumer(js, settings)

        let began = Date()
        #expect(try consumer.fetch(batch: 5, waitMs: 300).isEmpty)
        #expect(Date().timeIntervalSince(began) >= 0.25, "an empty pull waited its time")

        _ = try js.publishInOrder(messages("W", 1...12), after: nil, maxWaitMs: 5000)
        let first = try consumer.fetch(batch: 5, waitMs: 500)
        #expect(first.map(\.streamSequence) == [1, 2, 3, 4, 5])
        // Not acknowledged: nothing new is delivered while they wait (max ack pending), and after the
        // ack wait the same five come again, in order, before anything later.
        #expect(try consumer.fetch(batch: 5, waitMs: 300).isEmpty)
        var again: [PullConsumer.Delivery] = []
        let deadline = Date().addingTimeInterval(10)
        while again.isEmpty && Date() < deadline { again = try consumer.fetch(batch: 5, waitMs: 500) }
        #expect(again.map(\.streamSequence) == [1, 2, 3, 4, 5])
        try consumer.ack(again)
        #expect(try consumer.acknowledgedThrough() == 5)
        var rest: [PullConsumer.Delivery] = []
        for _ in 0..<2 {
            let batch = try consumer.fetch(batch: 5, waitMs: 500)
            try consumer.ack(batch)
            rest += batch
        }
        #expect(rest.map(\.streamSequence) == Array(6...12).map { UInt64($0) })
        #expect(try consumer.acknowledgedThrough() == 12)
    }

    @Test func aConsumerSurvivesItsServerRestarting() throws {
        let server = try JetStreamServer()
        var options = NATSConnection.Options()
        options.reconnectWaitMs = 100
        let connection = try NATSConnection(servers: [server.url], options: options)
        defer { connection.close() }
        let js = try JetStream(connection, waitMs: 1000)
        try stream(js, "S")
        _ = try js.publishInOrder(messages("S", 1...4), after: nil, maxWaitMs: 5000)
        let consumer = try PullConsumer(js, PullConsumer.Settings(stream: "S", durable: "hub"))
        try consumer.ack(try consumer.fetch(batch: 2, waitMs: 500))
        server.stop()
        #expect(throws: NATSError.self) { _ = try consumer.fetch(batch: 2, waitMs: 200) }
        try server.start()
        var got: [UInt64] = []
        let deadline = Date().addingTimeInterval(20)
        while got.count < 2 && Date() < deadline {
            if let batch = try? consumer.fetch(batch: 2, waitMs: 300) {
                got += batch.map(\.streamSequence)
                try? consumer.ack(batch)
            } else {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        #expect(got == [3, 4])
    }

    @Test func ackSubjectsOfBothFormsNameTheStreamSequence() {
        #expect(PullConsumer.streamSequence(ackSubject: "$JS.ACK.S.hub.1.42.7.1700000000000000000.0") == 42)
        #expect(
            PullConsumer.streamSequence(ackSubject: "$JS.ACK.hub.ACCHASH.S.hub.1.43.7.1700000000000000000.0.rnd") == 43)
        #expect(PullConsumer.streamSequence(ackSubject: "_INBOX.abc") == nil)
    }
}
