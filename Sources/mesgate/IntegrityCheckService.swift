import Foundation
import GenealogyStore
import Logging
import Metrics
import ServiceLifecycle

/// Runs `PRAGMA integrity_check` on the store every --integrity-check-hours, on a thread of its
/// own with a read-only connection (never on an event loop or the cooperative pool). Damage is
/// logged at error, counted (`mesgate_store_integrity_checks_total{result="damaged"}`) and
/// recorded in the store's condition, which turns readiness NOT_SERVING / 503 with the reason.
struct IntegrityCheckService: Service {
    let store: GenealogyStore
    let directory: String
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return  // shutdown or cancellation
            }
            let report = await check()
            Self.checks[report.result]?.increment()
            switch report {
            case .checked(let report) where !report.intact:
                logger.error(
                    "store.integrity_check.damaged",
                    metadata: [
                        "problems": "\(report.summary(lines: 10))",
                        "advice": "\(IntegrityReport.restoreAdvice(directory: directory))",
                    ])
                store.condition.recordDamage(report)
            case .checked(let report):
                logger.info(
                    "store.integrity_check.ok", metadata: ["seconds": "\(String(format: "%.1f", report.seconds))"])
            case .failed(let error):
                logger.warning("store.integrity_check.failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// `mesgate_store_integrity_checks_total{result}`, one counter per result, made once.
    private static let checks = Dictionary(
        uniqueKeysWithValues: ["ok", "damaged", "failed"].map {
            ($0, Counter(label: "mesgate_store_integrity_checks_total", dimensions: [("result", $0)]))
        })

    private enum Outcome: Sendable {
        case checked(IntegrityReport)
        case failed(GenealogyStoreError)

        var result: String {
            switch self {
            case .checked(let report): report.intact ? "ok" : "damaged"
            case .failed: "failed"
            }
        }
    }

    /// The check, on a thread of its own.
    private func check() async -> Outcome {
        let path = store.path
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                do throws(GenealogyStoreError) {
                    continuation.resume(returning: .checked(try StoreIntegrity.check(path: path, depth: .full)))
                } catch {
                    continuation.resume(returning: .failed(error))
                }
            }
        }
    }
}
