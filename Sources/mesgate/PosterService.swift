import Foundation
import Logging
import OutboxPoster
import ServiceLifecycle

/// Runs the Odoo poster, the release poller and the master data poller while the gateway runs; on
/// graceful shutdown lets the posting in flight finish and stops their threads (before the store closes).
struct PosterService: Service {
    let poster: OutboxPoster
    let release: ReleasePoller
    let masterData: MasterDataPoller
    let logger: Logger

    func run() async throws {
        poster.start()
        release.start()
        masterData.start()
        try? await gracefulShutdown()
        // stop() joins the poster thread: block a thread of our own, not the cooperative pool.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                masterData.stop()
                release.stop()
                poster.stop()
                continuation.resume()
            }
        }
        logger.info("odoo poster stopped")
    }
}
