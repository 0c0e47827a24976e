import Foundation
public import GenealogyStore
public import Logging
import MESDomain
import NATS
import Synchronization
import WorkerThread

/// At a plant: takes the holds and releases the hub sends this plant (its holds stream on the
/// hub's JetStream) and applies them to the plant's store, on a thread of its own, so that a
/// shipment here is refused even when the WAN is cut afterwards.
///
/// A message is acknowledged only once what it asks is committed (or found already done: each hub
/// hold is placed once, see `placeEnterpriseHold`), so the hub reads from the acknowledgements which
/// plants have applied it. Its own connection: a stale WAN link never delays event replication.
public final class EnterpriseHoldTaker: Sendable {
    public struct Status: Sendable {
        public var applied = 0
        public var lastError: String?
    }

    private let store: GenealogyStore
    private let plant: PlantName
    private let servers: [String]
    private let hubDomain: String?
    private let logger: Logger
    private let options: ReplicationOptions
    private let state = Mutex(Status())
    private let worker = WorkerThread(name: "mesgate-holds")

    public init(
        store: GenealogyStore, plant: PlantName, servers: [String], hubDomain: String?,
        options: ReplicationOptions = ReplicationOptions(), logger: Logger
    ) {
        self.store = store
        self.plant = plant
        self.servers = servers
        self.hubDomain = hubDomain
        self.options = options
        self.logger = logger
    }

    public var status: Status { state.withLock { $0 } }

    public func start() {
        worker.start { [self] in run() }
    }

    /// Lets the message in hand be applied, stops the thread and waits for it. Blocks.
    public func stop() {
        worker.stop()
    }

    private var isStopping: Bool { worker.isStopping }

    private func run() {
        let link: JetStreamLink
        do {
            link = try JetStreamLink(
                servers: servers, name: "mesgate plant \(plant) holds", options: options, domain: hubDomain)
        } catch {
            logger.critical("enterprise_holds.start_failed", metadata: ["plant": "\(plant)", "error": "\(error)"])
            state.withLock { $0.lastError = "\(error)" }
            return
        }
        defer { link.close() }
        var consumer: PullConsumer?
        var failing = false
        let started = ContinuousClock.now
        while !isStopping {
            do {
                if consumer == nil { consumer = try link.plantHoldsConsumer(plant) }
                guard let taken = consumer else { continue }
                let deliveries = try taken.fetch(batch: 8, waitMs: 1000)
                guard !deliveries.isEmpty else { continue }
                for delivery in deliveries {
                    try apply(delivery.message)
                }
                try taken.ack(deliveries)
                if failing {
                    logger.info("enterprise_holds.resumed", metadata: ["plant": "\(plant)"])
                    failing = false
                }
                state.withLock { $0.lastError = nil }
            } catch {
                consumer = nil
                // Until the hub has seen this plant, its holds stream does not exist; and while the
                // plant's leaf node is still joining the hub, nothing answers across the domain.
                let quiet =
                    ((error as? NATSError)?.isStreamNotFound ?? false) || ContinuousClock.now - started < .seconds(60)
                if !failing && !quiet {
                    logger.warning(
                        "enterprise_holds.failing", metadata: ["plant": "\(plant)", "error": "\(error)"])
                    failing = true
                }
                state.withLock { $0.lastError = quiet ? nil : "\(error)" }
                worker.pause(milliseconds: options.retryMs * 2)
            }
        }
    }

    /// Applies one message from the hub and waits for its commit; throws (nothing acknowledged) when
    /// the store could not commit it.
    private func apply(_ delivered: NATSMessage) throws {
        let hold: EnterpriseHoldMessage
        do {
            hold = try EnterpriseHoldMessage(
                PlantMessage(subject: delivered.subject, headers: delivered.headers, body: delivered.body))
        } catch {
            // Not something a retry mends: said loudly, then passed (acknowledged with the rest).
            logger.error(
                "enterprise_holds.unreadable",
                metadata: ["plant": "\(plant)", "error": "\(error)", "headers": "\(delivered.headers)"])
            return
        }
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<HoldOutcome?>(nil)
        let finish: @Sendable (HoldOutcome) -> Void = { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        let by = "hub:\(hold.by)"
        let reason = "enterprise hold \(hold.hubHoldID): \(hold.reason)"
        if hold.isRelease {
            store.releaseEnterpriseHold(hubHold: hold.hubHoldID, reason: reason, by: by, completion: finish)
        } else {
            store.placeEnterpriseHold(
                hubHold: hold.hubHoldID, roots: hold.lots, reason: reason, by: by, completion: finish)
        }
        done.wait()
        switch outcome.withLock({ $0 }) {
        case .failed(let error)?: throw error
        case .changed(let lots)?:
            logger.notice(
                hold.isRelease ? "enterprise_holds.released" : "enterprise_holds.placed",
                metadata: ["plant": "\(plant)", "hub_hold": "\(hold.hubHoldID)", "lots": "\(lots.count)"])
        case .notFound?, .noOpenHold?, nil:
            logger.notice(
                "enterprise_holds.nothing_here",
                metadata: ["plant": "\(plant)", "hub_hold": "\(hold.hubHoldID)", "release": "\(hold.isRelease)"])
        }
        state.withLock { $0.applied += 1 }
    }
}
