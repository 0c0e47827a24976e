import Synchronization

/// Why the store cannot take writes now.
public enum StoreProblem: Sendable, Hashable, CustomStringConvertible {
    /// An integrity check found the file damaged; stays until the process ends (restore it).
    case damaged(String)
    /// The writer's last transaction failed to commit (disk full, I/O error, read-only file);
    /// clears when one commits (a batch, or the writer's probe: see `IngestWriter`). A failed sync
    /// of the write-ahead log (`CommitSyncer`) stays until the process ends.
    case commitsFailing(String)

    public var description: String {
        switch self {
        case .damaged(let detail): "store damaged: \(detail)"
        case .commitsFailing(let detail): "store writes failing: \(detail)"
        }
    }
}

/// Whether the store can take writes, in memory: set by the writer after each commit and by
/// integrity checks, read by readiness (`/readyz`, gRPC health) without touching the database.
/// Observers hear each change, on the thread that made it (the writer's, or a checker's).
public final class StoreCondition: Sendable {
    private struct State {
        var damage: String?
        var commitFailure: String?
        var syncFailure: String?
        var observers: [@Sendable (StoreProblem?) -> Void] = []

        var problem: StoreProblem? {
            if let damage { return .damaged(damage) }
            return (syncFailure ?? commitFailure).map { .commitsFailing($0) }
        }
    }

    private let state = Mutex(State())

    public init() {}

    /// The problem now, or nil when the store takes writes. Damage outranks failing commits.
    public var problem: StoreProblem? { state.withLock { $0.problem } }

    /// Whether the writer's last transaction failed (it then probes now and then: `IngestWriter`).
    var commitsFailing: Bool { state.withLock { $0.commitFailure != nil } }

    /// Calls `observer` with every later change (nil: no problem any more). Keep it short.
    public func observe(_ observer: @escaping @Sendable (StoreProblem?) -> Void) {
        state.withLock { $0.observers.append(observer) }
    }

    /// An integrity check found damage (see `StoreIntegrity`).
    public func recordDamage(_ report: IntegrityReport) {
        change { $0.damage = "\(report.depth.name) reported: \(report.summary())" }
    }

    /// The writer's transaction failed (`detail`: SQLite's message) or committed (nil).
    func recordCommit(failure detail: String?) {
        change { $0.commitFailure = detail }
    }

    /// The write-ahead log could not be synced (`CommitSyncer`): for good, a later commit does not clear it.
    func recordSyncFailure(_ detail: String) {
        change { $0.syncFailure = detail }
    }

    private func change(_ body: (inout State) -> Void) {
        let (changed, problem, observers) = state.withLock { state in
            let before = state.problem
            body(&state)
            let after = state.problem
            return (before != after, after, state.observers)
        }
        guard changed else { return }
        for observer in observers { observer(problem) }
    }
}
