import Dispatch
import Synchronization

/// Where blocking store work of gRPC calls runs (reads, exports, EPCIS imports): never an event
/// loop, never the cooperative pool. Bounded: at most `limit` pieces of work wait or run at once;
/// beyond that `submit` refuses at once and the call is answered UNAVAILABLE, so a flood of
/// queries cannot pile up closures (and the threads a concurrent queue makes for blocking work)
/// without end.
final class QueryQueue: Sendable {
    /// The queue the gateway's calls share.
    static let shared = QueryQueue(label: "mesgate.queries", limit: 64)

    /// What a refused call is told.
    static let busyMessage = "too many queries in progress; retry"

    let limit: Int
    private let queue: DispatchQueue
    private let inFlight = Atomic<Int>(0)

    init(label: String, limit: Int) {
        self.limit = max(1, limit)
        queue = DispatchQueue(label: label, qos: .userInitiated, attributes: .concurrent)
    }

    /// Work waiting or running now.
    var count: Int { inFlight.load(ordering: .relaxed) }

    /// Runs `work` on the queue; false (and `work` never runs) when `limit` are waiting or running.
    func submit(_ work: @escaping @Sendable () -> Void) -> Bool {
        guard inFlight.add(1, ordering: .acquiringAndReleasing).newValue <= limit else {
            inFlight.subtract(1, ordering: .acquiringAndReleasing)
            return false
        }
        queue.async {
            defer { self.inFlight.subtract(1, ordering: .acquiringAndReleasing) }
            work()
        }
        return true
    }
}
