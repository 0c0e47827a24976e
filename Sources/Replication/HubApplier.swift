import Foundation
public import GenealogyStore
public import Logging
import MESMessages
import Metrics
import Synchronization
import WorkerThread

/// Applies every plant's stream to the hub's store, on a thread of its own.
///
/// It finds the plant streams (`MESGATE_PLANT_*`) on the JetStream server, keeps one durable pull
/// consumer on each, and takes their messages in batches, plant by plant: events go through the
/// store's writer (stored once per plant and plant sequence, in the plant's order), corrections
/// through it too (to the hub's copy of the event), holds and releases into the hub ledger; a
/// message that cannot be applied becomes a dead letter with its reason and the stream goes on.
/// Messages are acknowledged only after what they carry is committed, so a hub killed mid-batch
/// gets them again and finds them applied.
public final class HubApplier: Sendable {
    /// What other threads may read while the applier runs.
    public struct Status: Sendable {
        public var connected = false
        public var plants: [String] = []
        public var applied = 0
        public var duplicates = 0
        public var deadLetters = 0
        public var lastError: String?
    }

    private let store: GenealogyStore
    private let servers: [String]
    private let options: HubOptions
    private let logger: Logger
    private let state = Mutex(Status())
    /// The store admitted for each plant (read and written on the applier's thread only).
    private let admitted = Mutex<[String: String]>([:])
    private let worker = WorkerThread(name: "mesgate-hub")

    public init(store: GenealogyStore, servers: [String], options: HubOptions = HubOptions(), logger: Logger) {
        self.store = store
        self.servers = servers
        self.options = options
        self.logger = logger
    }

    public var status: Status { state.withLock { $0 } }

    public func start() {
        worker.start { [self] in run() }
    }

    /// Lets the batch in flight finish, stops the thread and waits for it. Blocks.
    public func stop() {
        worker.stop()
    }

    private var isStopping: Bool { worker.isStopping }

    private func run() {
        let ledger: HubLedger
        let holdBook: HubHoldBook
        do {
            ledger = try HubLedger(path: store.path)
            holdBook = try HubHoldBook(path: store.path)
        } catch {
            logger.critical("hub.start_failed", metadata: ["error": "\(error)"])
            state.withLock { $0.lastError = "\(error)" }
            return
        }
        let link: JetStreamLink
        do {
            link = try JetStreamLink(servers: servers, name: "mesgate hub", options: options.link)
        } catch {
            logger.critical("hub.start_failed", metadata: ["error": "\(error)"])
            state.withLock { $0.lastError = "\(error)" }
            return
        }
        defer { link.close() }
        logger.info("hub.started", metadata: ["servers": "\(servers.joined(separator: ","))"])
        var consumers: [String: JetStreamLink.PlantConsumer] = [:]
        var lastDiscovery = ContinuousClock.now - .seconds(3600)
        var lastHoldCheck = ContinuousClock.now - .seconds(3600)
        var failing = false
        while !isStopping {
            var worked = false
            do {
                if ContinuousClock.now - lastDiscovery > .milliseconds(options.discoveryMs) {
                    for source in options.mirrors {
                        try link.mirrorPlantStream(source.plant, domain: source.domain, replicas: options.replicas)
                    }
                    for plant in try link.plantStreams()
                    where consumers[plant.name] == nil && options.plants.map({ $0.contains(plant.name) }) ?? true {
                        consumers[plant.name] = try link.hubConsumer(for: plant, batch: options.batchSize)
                        // The plant's holds stream, made now so that the plant's taker is attached
                        // before the first hold (a hold then reaches it in a round trip).
                        try link.prepareHoldsStream(plant, replicas: options.replicas)
                        logger.info("hub.plant.found", metadata: ["plant": "\(plant)", "stream": "\(plant.stream)"])
                    }
                    lastDiscovery = .now
                    state.withLock { $0.plants = consumers.keys.sorted() }
                }
                // One round: what each plant has, then all of it in one commit, then the acks.
                var round: [(JetStreamLink.PlantConsumer, [JetStreamLink.Delivery])] = []
                for name in consumers.keys.sorted() {
                    guard !isStopping, let consumer = consumers[name] else { break }
                    let messages = try consumer.fetch(
                        batch: options.batchSize, waitMs: consumers.count > 1 ? options.shortWaitMs : options.waitMs)
                    if !messages.isEmpty { round.append((consumer, messages)) }
                }
                if !round.isEmpty {
                    try apply(round, ledger)
                    worked = true
                }
                if ContinuousClock.now - lastHoldCheck > .milliseconds(options.holdCheckMs) {
                    try fanOutHolds(link, holdBook)
                    lastHoldCheck = .now
                }
                if failing {
                    logger.info("hub.resumed")
                    failing = false
                }
                state.withLock {
                    $0.lastError = nil
                    $0.connected = link.isConnected
                }
            } catch {
                if !failing {
                    logger.warning("hub.failing", metadata: ["error": "\(error)", "retry_ms": "\(options.retryMs)"])
                    failing = true
                }
                state.withLock {
                    $0.lastError = "\(error)"
                    $0.connected = link.isConnected
                }
            }
            HubMetrics.connected.record(link.isConnected ? 1 : 0)
            if failing {
                worker.pause(milliseconds: options.retryMs)
            } else if !worked && consumers.isEmpty {
                worker.pause(milliseconds: options.waitMs)
            }
        }
        logger.info("hub.stopped")
    }

    /// Sends the hub's new holds and releases to the plants they concern, and notes which plants
    /// have applied what they were sent (their consumer acknowledged it after committing).
    private func fanOutHolds(_ link: JetStreamLink, _ book: HubHoldBook) throws {
        // What is sent is read first, then made durable by one sync of the log (`HubHoldBook`).
        let holds = try book.pending(limit: 16).map { pending in
            (
                pending, plants: pending.isRelease ? try book.plants(of: pending.holdID) : [],
                lotsByPlant: pending.isRelease ? [:] : try book.lotsByPlant(hold: pending.holdID)
            )
        }
        if !holds.isEmpty { try book.makeReadsDurable() }
        for (pending, plants, lotsByPlant) in holds {
            if pending.isRelease {
                for plant in plants {
                    guard let name = try? PlantName(plant) else { continue }
                    try link.prepareHoldsStream(name, replicas: options.replicas)
                    let message = EnterpriseHoldMessage(
                        hubHoldID: pending.holdID, isRelease: true, lots: [], reason: pending.reason, by: pending.by,
                        atMs: pending.atMs)
                    let sequence = try link.publishHold(message.message(for: name))
                    try book.releaseSent(hold: pending.holdID, to: plant, sequence: sequence)
                }
            } else {
                for (plant, lots) in lotsByPlant.sorted(by: { $0.key < $1.key }) {
                    guard let name = try? PlantName(plant) else { continue }
                    try link.prepareHoldsStream(name, replicas: options.replicas)
                    let message = EnterpriseHoldMessage(
                        hubHoldID: pending.holdID, isRelease: false, lots: lots, reason: pending.reason,
                        by: pending.by, atMs: pending.atMs)
                    let sequence = try link.publishHold(message.message(for: name))
                    try book.sent(hold: pending.holdID, to: plant, lots: lots.count, sequence: sequence)
                }
            }
            try book.done(pending, nowMs: Self.nowMs())
            logger.notice(
                pending.isRelease ? "hub.hold.release_sent" : "hub.hold.sent",
                metadata: ["hold": "\(pending.holdID)", "lot": "\(pending.root)"])
        }
        for plant in try book.plantsAwaitingApplication() {
            guard let name = try? PlantName(plant) else { continue }
            try book.applied(
                plant: plant, through: try link.holdsApplied(by: name, replicas: options.replicas), nowMs: Self.nowMs())
        }
    }

    /// Applies one round of the plants' messages, each plant's in its order, and acknowledges them
    /// once committed: the events in one commit of the store's writer, except that a correction is
    /// applied after the events before it (its replacement among them) and before those after it.
    private func apply(_ round: [(JetStreamLink.PlantConsumer, [JetStreamLink.Delivery])], _ ledger: HubLedger) throws {
        let now = Self.nowMs()
        var requests: [IngestRequest] = []
        var lastSequence: [String: Int64] = [:]
        var stored: [String: Int] = [:]
        var duplicates = 0
        var dead = 0
        /// Stores the events taken so far.
        func flush() throws {
            let outcomes = try store.submitAll(requests, retryWhileFullMs: options.retryMs)
            for (request, outcome) in zip(requests, outcomes) {
                switch outcome {
                case .accepted: stored[request.origin?.plant ?? "", default: 0] += 1
                case .duplicate: duplicates += 1
                case .failed(let error): throw error  // nothing acknowledged: the round comes again
                }
            }
            requests.removeAll()
        }
        func setAside(_ delivery: JetStreamLink.Delivery, of consumer: JetStreamLink.PlantConsumer, _ reason: String)
            throws
        {
            dead += 1
            let plant = delivery.message.headers[PlantMessage.Header.plant] ?? ""
            let headers = delivery.message.headers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
            try ledger.deadLetter(
                HubDeadLetter(
                    plant: plant, stream: consumer.plant.stream, streamSequence: Int64(delivery.streamSequence),
                    reason: reason, headers: headers.joined(separator: "\n"), body: delivery.message.body, atMs: now))
            logger.error(
                "hub.dead_letter",
                metadata: ["plant": "\(plant)", "stream_sequence": "\(delivery.streamSequence)", "reason": "\(reason)"])
        }
        for (consumer, messages) in round {
            for delivery in messages {
                do {
                    let message = PlantMessage(
                        subject: delivery.message.subject, headers: delivery.message.headers,
                        body: delivery.message.body)
                    let (from, storeID, change) = try message.change()
                    try admit(from, storeID, ledger, now)
                    switch change {
                    case .event(let request):
                        requests.append(request)
                        lastSequence[from] = max(lastSequence[from] ?? 0, request.origin?.sequence ?? 0)
                    case .holdPlaced(let hold):
                        try ledger.placed(
                            plant: from, holdID: hold.id, request: hold.request, by: hold.by, atMs: hold.atMs)
                    case .holdReleased(let hold):
                        try ledger.released(
                            plant: from, holdID: hold.id, reason: hold.request.reason, by: hold.by, atMs: hold.atMs)
                    case .correction(let correction):
                        try flush()
                        switch store.applyPlantCorrection(correction, from: from) {
                        case .applied(let applied):
                            logger.notice(
                                "hub.correction.applied",
                                metadata: [
                                    "plant": "\(from)", "plant_correction": "\(correction.id)",
                                    "correction": "\(applied.id)", "event": "\(applied.eventID)",
                                ])
                        case .appliedBefore: duplicates += 1
                        case .missing(let reason): try setAside(delivery, of: consumer, reason)
                        case .failed(let error): throw error  // the round comes again; what was applied is found
                        }
                    }
                } catch let error as PlantMessageError {
                    try setAside(delivery, of: consumer, error.description)
                }
            }
        }
        try flush()
        for (plant, sequence) in lastSequence {
            try ledger.applied(plant: plant, through: sequence, count: stored[plant] ?? 0, nowMs: Self.nowMs())
        }
        for (consumer, messages) in round { try consumer.ack(messages) }
        let total = stored.values.reduce(0, +)
        HubMetrics.applied.increment(by: total)
        HubMetrics.duplicates.increment(by: duplicates)
        HubMetrics.deadLetters.increment(by: dead)
        state.withLock {
            $0.applied += total
            $0.duplicates += duplicates
            $0.deadLetters += dead
        }
    }

    /// Checks, once per plant and store, that `storeID` is the store replicating `plant` (a second
    /// store claiming a plant is refused: its messages become dead letters).
    private func admit(_ plant: String, _ storeID: String, _ ledger: HubLedger, _ nowMs: Int64) throws {
        if admitted.withLock({ $0[plant] }) == storeID { return }
        if let refusal = try ledger.admit(plant: plant, storeID: storeID, nowMs: nowMs) {
            throw PlantMessageError(refusal)
        }
        admitted.withLock { $0[plant] = storeID }
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

/// How the hub takes its plants' streams.
public struct HubOptions: Sendable {
    public var batchSize = 256
    /// How long one fetch waits for messages when one plant is known, and when several are.
    public var waitMs = 500
    public var shortWaitMs = 20
    public var retryMs = 1000
    /// How often the server is asked for new plant streams.
    public var discoveryMs = 1000
    /// How often the hub's new holds are sent and the plants' application of them read.
    public var holdCheckMs = 250
    public var link = ReplicationOptions()
    /// Plant streams that live in the plants' own JetStream domains (leaf nodes): the hub keeps a
    /// mirror of each in its domain, and takes that. Empty: the plants publish to the hub's server.
    public var mirrors: [PlantSource] = []
    /// Copies of each mirror the hub's JetStream cluster keeps (3 on the production cluster).
    public var replicas = 1
    /// Only these plants (a hub shard of a plant group, deploy/SCALE.md); nil: every plant stream
    /// on the JetStream.
    public var plants: Set<String>?

    public init() {}
}

/// A plant whose stream the hub mirrors from the plant's JetStream domain.
public struct PlantSource: Sendable, Hashable {
    public var plant: PlantName
    public var domain: String

    public init(plant: PlantName, domain: String) {
        self.plant = plant
        self.domain = domain
    }
}

enum HubMetrics {
    static let applied = Counter(label: "mesgate_hub_applied_total")
    static let duplicates = Counter(label: "mesgate_hub_duplicates_total")
    static let deadLetters = Counter(label: "mesgate_hub_dead_letters_total")
    static let connected = Gauge(label: "mesgate_hub_connected")
}

extension GenealogyStore {
    /// Submits `requests` in order from this (non-cooperative) thread and waits for every outcome;
    /// while the queue is full, waits `retryWhileFullMs` and submits the rest again.
    func submitAll(_ requests: [IngestRequest], retryWhileFullMs: Int) throws -> [IngestOutcome] {
        let outcomes = Mutex<[IngestOutcome?]>(Array(repeating: nil, count: requests.count))
        let done = DispatchGroup()
        var next = 0
        while next < requests.count {
            done.enter()
            let index = next
            switch submit(
                requests[index],
                completion: { outcome in
                    outcomes.withLock { $0[index] = outcome }
                    done.leave()
                })
            {
            case .queued: next += 1
            case .full:
                done.leave()
                Thread.sleep(forTimeInterval: Double(retryWhileFullMs) / 1000)
            case .closed:
                done.leave()
                done.wait()
                throw GenealogyStoreError(.closed, "the hub's store is closing")
            }
        }
        done.wait()
        return outcomes.withLock { $0.map { $0! } }
    }

    /// `applyPlantCorrection` from this (non-cooperative) thread, waiting for the outcome.
    func applyPlantCorrection(_ correction: ReplicatedCorrection, from plant: String) -> PlantCorrectionOutcome {
        let outcome = Mutex<PlantCorrectionOutcome?>(nil)
        let done = DispatchSemaphore(value: 0)
        applyPlantCorrection(
            correction, from: plant, decode: EventCodec.stored,
            completion: { answer in
                outcome.withLock { $0 = answer }
                done.signal()
            })
        done.wait()
        return outcome.withLock { $0! }
    }
}
