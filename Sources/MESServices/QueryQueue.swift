import Dispatch
import Synchronization

/// Where blocking store work of gRPC calls runs (reads, exports, EPCIS imports): never an event
/// loop, never the cooperative pool. Bounded: at most `limit` pieces of work wait or run at once;
/// beyond that `submit` refuses at once and the call is answered UNAVAILABLE, so a flood of
/// queries cannot pile up closures (and the threads a concurrent queue makes for blocking work)
/// without end.
final class QueryQueue: Sendable {
    /// The queue the gateway's calls share.
    static let shared = QueryQueue(label: "mesgate.queries", limit: 64, perConnectionLimit: 4)

    /// What a refused call is told.
    static let busyMessage = "too many queries in progress; retry"

    let limit: Int
    /// Work of one connection waiting or running at most, so that a few connections (clients
    /// that open calls and never read the answers, say) cannot take every place.
    let perConnectionLimit: Int
    private let queue: DispatchQueue
    private let inFlight = Atomic<Int>(0)
    private let byConnection = Mutex<[UInt64: Int]>([:])

    init(label: String, limit: Int, perConnectionLimit: Int = .max) {
        self.limit = max(1, limit)
        self.perConnectionLimit = max(1, perConnectionLimit)
        queue = DispatchQueue(label: label, qos: .userInitiated, attributes: .concurrent)
    }

    /// Like `submit(_:)`, and also false when connection `connection` has `perConnectionLimit`
    /// pieces of work waiting or running.
    func submit(connection: UInt64, _ work: @escaping @Sendable () -> Void) -> Bool {
        let admitted = byConnection.withLock { counts in
            guard counts[connection, default: 0] < perConnectionLimit else { return false }
            counts[connection, default: 0] += 1
            return true
        }
        guard admitted else { return false }
        let queued = submit {
            defer {
                self.byConnection.withLock { counts in
                    let left = counts[connection, default: 1] - 1
                    counts[connection] = left > 0 ? left : nil
                }
            }
            work()
        }
        if !queued {
            byConnection.withLock { counts in
                let left = counts[connection, default: 1] - 1
                counts[connection] = left > 0 ? left : nil
            }
        }
        return queued
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
