import GenealogyStore
import Logging
import MESServices
import Synchronization

/// Decides what gRPC health says for every service ("" included): SERVING only while the gateway
/// is not draining and the store takes writes (`StoreCondition`). Draining is for good; a store
/// problem clears when the writer commits again (a damaged store stays damaged).
final class ServingGate: Sendable {
    private struct State {
        var draining = false
        var storeProblem: StoreProblem?
        var serving: Bool { !draining && storeProblem == nil }
    }

    private let health: HealthService
    private let logger: Logger
    private let state = Mutex(State())

    /// Follows `condition` from now on.
    init(health: HealthService, condition: StoreCondition, logger: Logger) {
        self.health = health
        self.logger = logger
        condition.observe { [self] problem in storeChanged(problem) }
        storeChanged(condition.problem)
    }

    /// Graceful shutdown began.
    func drain() { update { $0.draining = true } }

    private func storeChanged(_ problem: StoreProblem?) {
        let before = update { $0.storeProblem = problem }
        if let problem {
            logger.error("store.not_writable", metadata: ["problem": "\(problem)", "health": "NOT_SERVING"])
        } else if before.storeProblem != nil {
            logger.notice("store.writable_again", metadata: ["health": before.draining ? "NOT_SERVING" : "SERVING"])
        }
    }

    /// Changes the state and sets health when serving changed; returns the state before.
    @discardableResult
    private func update(_ body: (inout State) -> Void) -> State {
        // Under the lock, so two changes cannot set the statuses in the opposite order.
        state.withLock { state in
            let before = state
            body(&state)
            if state.serving != before.serving { health.setAll(state.serving ? .serving : .notServing) }
            return before
        }
    }
}
