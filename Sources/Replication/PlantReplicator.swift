import Foundation
public import GenealogyStore
public import Logging
import Metrics
import Synchronization
import WorkerThread

/// Publishes a plant store's commit log to its JetStream stream, on a thread of its own (libnats
/// and SQLite block; they never run on an event loop or the cooperative pool).
///
/// Each round reads the log entries after the cursor (`ReplicationLog`), publishes their records in
/// order and waits for JetStream's acks, then moves the cursor past them. A failure (no server, a
/// cut link, a refused publish) moves nothing: the round is tried again from the cursor after a
/// pause, and what is published again carries the same message ids. Ingest never waits for it.
public final class PlantReplicator: Sendable {
    /// What other threads may read while the replicator runs.
    public struct Status: Sendable {
        public var connected = false
        public var published = 0
        public var cursor = ReplicationCursor(auditID: 0, eventSequence: 0)
        public var lagEvents: Int64 = 0
        public var lagSeconds = 0.0
        /// Why replication cannot go on at all (another store replicates this plant): it stopped.
        public var stopped: String?
        /// The last failure, while failing (cleared by the next round that publishes).
        public var lastError: String?
    }

    private let storePath: String
    private let plant: PlantName
    private let servers: [String]
    private let logger: Logger
    private let options: ReplicationOptions
    private let state = Mutex(Status())
    private let worker = WorkerThread(name: "mesgate-repl")

    public init(
        storePath: String, plant: PlantName, servers: [String], options: ReplicationOptions = ReplicationOptions(),
        logger: Logger
    ) {
        self.storePath = storePath
        self.plant = plant
        self.servers = servers
        self.options = options
        self.logger = logger
    }

    public var status: Status { state.withLock { $0 } }

    /// Starts the replicator thread.
    public func start() {
        worker.start { [self] in run() }
    }

    /// Something was committed: look now instead of at the next poll.
    public func wake() { worker.wake() }

    /// Lets the round in flight finish, stops the thread and waits for it. Blocks.
    public func stop() {
        worker.stop()
    }

    private var isStopping: Bool { worker.isStopping }

    private func run() {
        let log: ReplicationLog
        let storeID: String
        do {
            log = try ReplicationLog(path: storePath)
            storeID = try log.storeID()
            try log.claimPlant(plant.name)
        } catch {
            stop(because: "\(error)")
            return
        }
        logger.info(
            "replication.started",
            metadata: [
                "plant": "\(plant)", "stream": "\(plant.stream)", "servers": "\(servers.joined(separator: ","))",
            ])
        let stream: JetStreamLink
        var cursor: ReplicationCursor
        do {
            stream = try JetStreamLink(servers: servers, name: "mesgate plant \(plant)", options: options)
            cursor = try log.cursor(stream: plant.stream)
        } catch {
            stop(because: "\(error)")
            return
        }
        defer { stream.close() }
        // The stream's end as last read: nil until read, and again after a failure, so a round that
        // lost its acks resumes after what the stream holds, not after the store's cursor.
        var end: JetStreamLink.StreamEnd?
        var failing = false
        while !isStopping {
            var worked = false
            do {
                if end == nil {
                    let found = try stream.preparePlantStream(plant, storeID: storeID)
                    if found.foreign {
                        logger.warning(
                            "replication.foreign_message",
                            metadata: [
                                "plant": "\(plant)", "stream": "\(plant.stream)",
                                "detail":
                                    "the stream's last message was not published by a gateway; replication goes on after it",
                            ])
                    }
                    if let position = found.position, position.isAhead(of: cursor) {
                        try log.advance(stream: plant.stream, to: position, nowMs: Self.nowMs())
                        cursor = position
                    }
                    end = found
                }
                let batch = try log.entries(after: cursor, limit: options.batchSize)
                if batch.through != cursor {
                    var position = cursor
                    let messages = batch.records.map { record in
                        position.auditID = record.auditID
                        if case .event(let event) = record.change { position.eventSequence = event.sequence }
                        return PlantMessage(record, plant: plant, storeID: storeID, position: position)
                    }
                    if !messages.isEmpty {
                        try stream.publish(messages, after: end?.lastMessageID)
                        end?.lastMessageID = messages.last?.headers[PlantMessage.Header.messageID]
                    }
                    try log.advance(stream: plant.stream, to: batch.through, nowMs: Self.nowMs())
                    cursor = batch.through
                    ReplicationMetrics.published.increment(by: messages.count)
                    state.withLock {
                        $0.published += messages.count
                        $0.cursor = cursor
                    }
                    worked = true
                }
                if failing {
                    logger.info("replication.resumed", metadata: ["plant": "\(plant)"])
                    failing = false
                }
                state.withLock { $0.lastError = nil }
            } catch let error as ReplicationStopped {
                stop(because: error.reason)
                return
            } catch {
                end = nil
                if !failing {
                    logger.warning(
                        "replication.failing",
                        metadata: ["plant": "\(plant)", "error": "\(error)", "retry_ms": "\(options.retryMs)"])
                    failing = true
                }
                state.withLock { $0.lastError = "\(error)" }
            }
            record(lag: try? log.lag(behind: cursor), connected: stream.isConnected)
            if !worked {
                worker.pause(milliseconds: failing ? options.retryMs : options.pollMs)
            }
        }
        logger.info("replication.stopped", metadata: ["plant": "\(plant)"])
    }

    private func record(lag: ReplicationLag?, connected: Bool) {
        let now = Self.nowMs()
        let seconds = lag?.oldestWaitingRecordedAtMs.map { max(0, Double(now - $0) / 1000) } ?? 0
        state.withLock {
            $0.connected = connected
            if let lag { $0.lagEvents = lag.events }
            $0.lagSeconds = seconds
        }
        if let lag { ReplicationMetrics.lagEvents.record(lag.events) }
        ReplicationMetrics.lagSeconds.record(seconds)
        ReplicationMetrics.connected.record(connected ? 1 : 0)
    }

    private func stop(because reason: String) {
        logger.critical("replication.stopped", metadata: ["plant": "\(plant)", "reason": "\(reason)"])
        state.withLock { $0.stopped = reason }
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

/// How the replicator paces itself and sizes its stream.
public struct ReplicationOptions: Sendable {
    /// Log entries read and published per round.
    public var batchSize = 512
    /// Pause between looks when nothing is new (a commit wakes it earlier).
    public var pollMs = 50
    /// Pause after a failure before the round is tried again.
    public var retryMs = 1000
    /// How long one publish waits for JetStream's ack.
    public var ackWaitMs = 5000
    /// How long the plant's stream keeps what it holds (the hub must have copied it by then): the
    /// store's cursor holds back what was never acknowledged, so only what the hub has not yet
    /// sourced is at stake.
    public var streamMaxAgeSeconds = 30 * 24 * 3600

    public init() {}
}

/// A failure that ends replication until a person acts (another store replicates the plant).
struct ReplicationStopped: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// The replication gauges and counters in `/metrics`.
enum ReplicationMetrics {
    static let published = Counter(label: "mesgate_replication_published_total")
    static let lagEvents = Gauge(label: "mesgate_replication_lag_events")
    static let lagSeconds = Gauge(label: "mesgate_replication_lag_seconds")
    static let connected = Gauge(label: "mesgate_replication_connected")
}
