import Foundation
import GenealogyStore
import Logging
import NATS

/// Replication's view of JetStream: a plant's stream and its ordered publishes, the hub's plant
/// streams (mirrors of the plants' in the leaf-node topology) and its consumers on them.
///
/// One connection, made at once and kept trying in the background (`isConnected`). Blocking, like
/// the NATS module under it: used only from the replicator's or the applier's own thread.
final class JetStreamLink {
    private let connection: NATSConnection
    private let jetStream: JetStream
    private let options: ReplicationOptions
    /// The hub's consumers of the plants' holds streams, made once each (to read how far a plant
    /// has applied its holds).
    private var holdsConsumers: [String: PullConsumer] = [:]

    init(servers: [String], name: String, options: ReplicationOptions, domain: String? = nil) throws(NATSError) {
        var connectionOptions = NATSConnection.Options()
        connectionOptions.name = name
        connection = try NATSConnection(servers: servers, options: connectionOptions)
        jetStream = try JetStream(connection, domain: domain, waitMs: Int64(options.ackWaitMs))
        self.options = options
    }

    var isConnected: Bool { connection.isConnected }

    func close() { connection.close() }

    // MARK: The plant's side

    /// Where the plant's stream stands: the id of its last message and the store's log position it
    /// carries (nil for an empty stream).
    struct StreamEnd {
        var lastMessageID: String?
        var position: ReplicationCursor?
        /// The stream's last message is not a gateway's (published around the gateway).
        var foreign = false
    }

    /// Makes the plant's stream when missing and reads its end; refuses (`ReplicationStopped`) a
    /// stream that another store has fed: two gateways claiming one plant.
    func preparePlantStream(_ plant: PlantName, storeID: String) throws -> StreamEnd {
        var settings = JetStream.StreamSettings(name: plant.stream, subjects: [plant.subjects])
        settings.maxAgeSeconds = Int64(options.streamMaxAgeSeconds)
        settings.discardNew = true
        settings.duplicateWindowSeconds = 120
        try jetStream.addStreamIfMissing(settings)
        guard let last = try jetStream.lastMessage(stream: plant.stream) else { return StreamEnd() }
        let owner = last.headers[PlantMessage.Header.store] ?? ""
        let position = last.headers[PlantMessage.Header.position].flatMap(ReplicationCursor.init(header:))
        guard owner == storeID else {
            // A gateway's message (it has a log position) from another store: two gateways claim
            // this plant. Anything else is not a gateway's (the hub sets it aside as a dead letter):
            // the next publish follows it without expecting anything of it.
            guard position == nil else {
                throw ReplicationStopped(
                    reason:
                        "plant \(plant) is replicated by store \(owner) (stream \(plant.stream)), not by this one (\(storeID)): a second gateway cannot replicate as the same plant; give it its own --plant name"
                )
            }
            return StreamEnd(lastMessageID: nil, position: nil, foreign: true)
        }
        return StreamEnd(lastMessageID: last.headers[PlantMessage.Header.messageID], position: position)
    }

    /// Publishes `messages` in order after `previousID` (the stream's last message) and waits for
    /// every ack; nothing lands out of order (see `JetStream.publishInOrder`).
    func publish(_ messages: [PlantMessage], after previousID: String?) throws {
        let pairs = messages.map {
            (
                message: NATSMessage(subject: $0.subject, headers: $0.headers, body: $0.body),
                id: $0.headers[PlantMessage.Header.messageID] ?? ""
            )
        }
        _ = try jetStream.publishInOrder(pairs, after: previousID, maxWaitMs: Int64(options.ackWaitMs))
    }

    // MARK: The hub's side

    /// The plants whose streams this JetStream holds.
    func plantStreams() throws -> [PlantName] {
        try jetStream.streamNames(prefix: PlantName.streamPrefix).compactMap {
            try? PlantName(String($0.dropFirst(PlantName.streamPrefix.count)))
        }
    }

    /// Makes, when missing, the hub's copy of a plant's stream that lives in the plant's own
    /// JetStream domain (a leaf node): a mirror with `replicas` copies.
    func mirrorPlantStream(_ plant: PlantName, domain: String, replicas: Int) throws {
        var settings = JetStream.StreamSettings(name: plant.stream, subjects: [])
        settings.mirror = JetStream.Mirror(stream: plant.stream, domain: domain)
        settings.maxAgeSeconds = Int64(options.streamMaxAgeSeconds)
        settings.discardNew = false
        settings.duplicateWindowSeconds = 0
        settings.replicas = replicas
        try jetStream.addStreamIfMissing(settings)
    }

    /// The hub's durable consumer on a plant's stream.
    func hubConsumer(for plant: PlantName, batch: Int) throws -> PlantConsumer {
        var settings = PullConsumer.Settings(stream: plant.stream, durable: "mesgate-hub")
        settings.maxAckPending = Int64(batch)
        return PlantConsumer(plant: plant, consumer: try PullConsumer(jetStream, settings))
    }

    typealias Delivery = PullConsumer.Delivery

    // MARK: Enterprise holds

    /// The durable consumer through which a plant takes its holds stream.
    static let plantHoldsConsumer = "mesgate-plant"

    /// At the hub: makes, when missing, the stream of the holds the hub sends `plant` (kept until
    /// deleted by hand) and the plant's consumer on it (so that what the plant has applied can be
    /// read before it first connects).
    func prepareHoldsStream(_ plant: PlantName, replicas: Int) throws {
        guard holdsConsumers[plant.name] == nil else { return }
        var settings = JetStream.StreamSettings(name: plant.holdsStream, subjects: [plant.holdsSubject])
        settings.maxAgeSeconds = 0
        settings.discardNew = true
        settings.replicas = replicas
        try jetStream.addStreamIfMissing(settings)
        holdsConsumers[plant.name] = try plantHoldsConsumer(plant)
    }

    /// At the hub: sends one hold or release to its plant; the message's place in the holds stream.
    func publishHold(_ message: PlantMessage) throws -> UInt64 {
        let ack = try jetStream.publish(
            NATSMessage(subject: message.subject, headers: message.headers, body: message.body),
            messageID: message.headers[PlantMessage.Header.messageID] ?? "", maxWaitMs: Int64(options.ackWaitMs))
        return ack.sequence
    }

    /// At the hub: the place in `plant`'s holds stream up to which the plant has applied everything.
    func holdsApplied(by plant: PlantName, replicas: Int) throws -> UInt64 {
        try prepareHoldsStream(plant, replicas: replicas)
        return try holdsConsumers[plant.name]?.acknowledgedThrough() ?? 0
    }

    /// At a plant: its consumer of the holds the hub sends it (throws not found while the hub has
    /// made no holds stream for it).
    func plantHoldsConsumer(_ plant: PlantName) throws -> PullConsumer {
        var settings = PullConsumer.Settings(stream: plant.holdsStream, durable: Self.plantHoldsConsumer)
        settings.maxAckPending = 16
        settings.ackWaitSeconds = 30
        return try PullConsumer(jetStream, settings)
    }

    /// One plant's stream as the hub takes it.
    struct PlantConsumer {
        let plant: PlantName
        let consumer: PullConsumer

        func fetch(batch: Int, waitMs: Int) throws -> [Delivery] {
            try consumer.fetch(batch: batch, waitMs: Int64(waitMs))
        }

        func ack(_ deliveries: [Delivery]) throws { try consumer.ack(deliveries) }
    }
}

extension ReplicationCursor {
    /// `<audit id>/<event sequence>`, as the `Mesgate-Log-Position` header carries it.
    var header: String { "\(auditID)/\(eventSequence)" }

    init?(header: String) {
        let parts = header.split(separator: "/")
        guard parts.count == 2, let audit = Int64(parts[0]), let sequence = Int64(parts[1]) else { return nil }
        self.init(auditID: audit, eventSequence: sequence)
    }
}
