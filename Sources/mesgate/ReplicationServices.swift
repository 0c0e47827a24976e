import Foundation
import Logging
import Replication
import ServiceLifecycle

/// Runs the plant's replicator and its taker of the hub's holds while the gateway runs; on
/// graceful shutdown lets what they have in hand finish and stops their threads (before the store
/// closes).
struct ReplicatorService: Service {
    let replicator: PlantReplicator
    let holdTaker: EnterpriseHoldTaker
    let logger: Logger

    func run() async throws {
        replicator.start()
        holdTaker.start()
        try? await gracefulShutdown()
        await Self.stopOffThePool {
            holdTaker.stop()
            replicator.stop()
        }
        logger.info("replicator stopped")
    }

    /// Runs a blocking stop (it joins a thread) on a thread of its own, not the cooperative pool.
    static func stopOffThePool(_ stop: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                stop()
                continuation.resume()
            }
        }
    }
}

/// Runs the hub's applier (every plant's stream into the hub store) while the hub runs.
struct HubApplierService: Service {
    let applier: HubApplier
    let logger: Logger

    func run() async throws {
        applier.start()
        try? await gracefulShutdown()
        await ReplicatorService.stopOffThePool { applier.stop() }
        logger.info("hub applier stopped")
    }
}
