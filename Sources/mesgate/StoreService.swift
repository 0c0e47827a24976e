import Foundation
import GenealogyStore
import Logging
import ServiceLifecycle

/// Keeps the store open while the gateway runs; on graceful shutdown (after the gRPC server
/// has drained) commits what is queued, checkpoints and closes it.
struct StoreService: Service {
    let store: GenealogyStore
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        // close() joins the writer thread: block a thread of our own, not the cooperative pool.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                store.close()
                continuation.resume()
            }
        }
        logger.info("store closed")
    }
}
