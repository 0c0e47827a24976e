import Foundation
public import GenealogyStore
public import Logging
import Metrics
import Synchronization

/// Writes refused authentication attempts to the audit trail (`auth_failure`), at most
/// `maxEntries` per `window` over all hosts, so that a brute force cannot flood the trail (or
/// slow ingest: entries go through the store's writer). Attempts over the budget are counted
/// (`mesgate_audit_auth_failures_suppressed_total`) and the count is written with the next entry,
/// or by `flush()` at shutdown.
///
/// Thread use: `record` from event loops (never blocks: the append is queued); `flush` from a task.
public final class AuthFailureAudit: Sendable {
    private struct State {
        var windowStart: ContinuousClock.Instant?
        var written = 0
        var suppressed = 0
        var suppressedSinceMs: Int64 = 0
    }

    private let state = Mutex(State())
    private let store: GenealogyStore
    private let maxEntries: Int
    private let window: Duration
    private let logger: Logger
    private let suppressedCounter = Counter(label: "mesgate_audit_auth_failures_suppressed_total")

    public init(store: GenealogyStore, maxEntries: Int = 30, window: Duration = .seconds(60), logger: Logger) {
        self.store = store
        self.maxEntries = max(1, maxEntries)
        self.window = window
        self.logger = logger
    }

    /// Notes one refused attempt; writes it unless the window's budget is spent.
    func record(peer: String, method: String, reason: String, status: String, atMs: Int64) {
        let now = ContinuousClock.now
        let carried: Int? = state.withLock { s in
            if s.windowStart.map({ now - $0 >= window }) ?? true {
                s.windowStart = now
                s.written = 0
            }
            guard s.written < maxEntries else {
                if s.suppressed == 0 { s.suppressedSinceMs = atMs }
                s.suppressed += 1
                return nil
            }
            s.written += 1
            defer { s.suppressed = 0 }
            return s.suppressed
        }
        guard let carried else {
            suppressedCounter.increment()
            return
        }
        var detail = "grpc-status \(status)"
        if carried > 0 { detail += "; \(carried) earlier failure(s) not written (rate limit)" }
        append(actor: AuthFailureLimiter.host(ofPeer: peer), subject: method, reason: reason, detail: detail)
    }

    /// Writes the count of attempts not written since the last entry, if any; awaits the commit.
    public func flush() async {
        let (count, sinceMs) = state.withLock { s in
            defer { s.suppressed = 0 }
            return (s.suppressed, s.suppressedSinceMs)
        }
        guard count > 0 else { return }
        do {
            try await store.appendAudit(
                actor: "mesgate", action: AuditAction.authFailure, subject: "(rate-limited)",
                reason: "suppressed", detail: "\(count) failure(s) not written (rate limit) since at_ms \(sinceMs)")
        } catch {
            logger.error("audit.append.failed", metadata: ["action": "auth_failure", "error": "\(error)"])
        }
    }

    private func append(actor: String, subject: String, reason: String, detail: String) {
        let logger = self.logger
        store.appendAudit(
            actor: actor, action: AuditAction.authFailure, subject: subject, reason: reason, detail: detail
        ) { result in
            if case .failure(let error) = result {
                logger.error("audit.append.failed", metadata: ["action": "auth_failure", "error": "\(error)"])
            }
        }
    }
}
