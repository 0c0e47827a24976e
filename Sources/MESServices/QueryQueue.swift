import Dispatch
import Synchronization

/// Where blocking store work of gRPC calls runs (reads, exports, EPCIS imports): never an event
/// loop, never the cooperative pool. Bounded: at most `limit` pieces of work wait or run at once;
/// beyond that `submit` refuses at once and the call is answered UNAVAILABLE, so a flood of
/// queries cannot pile up closures (and the threads a concurrent queue makes for blocking work)
/// without end.
final class QueryQueue: Sendable {
    /// The queue the gateway's calls share.
    static let shared = QueryQueue(label: "mesgate.queries", limit: 64, perConnectionLimit: 2)

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

    /// Like `submit(connection:_:)`, for the work of one call: when the call has ended (its client
    /// went away, its deadline passed) before the work's turn comes, the work is skipped.
    func submit(
        connection: UInt64, for call: CallLiveness, _ work: @escaping @Sendable () -> Void
    ) -> Bool {
        enqueue(connection: connection) {
            if call.isLive { work() }
            return nil
        }
    }

    /// Like `submit(connection:for:_:)`, for work that ends by handing an answer to its call:
    /// `compute` runs on the queue, the work's place is given back, and only then `deliver` hands
    /// the answer on. A client that sends its next call as soon as it has the answer therefore
    /// never finds its finished call still counted against its connection (the worker thread may
    /// be descheduled between handing the answer on and returning).
    func submit<Answer: Sendable>(
        connection: UInt64, for call: CallLiveness, compute: @escaping @Sendable () -> Answer,
        deliver: @escaping @Sendable (Answer) -> Void
    ) -> Bool {
        enqueue(connection: connection) {
            guard call.isLive else { return nil }
            let answer = compute()
            return { deliver(answer) }
        }
    }

    /// Like `submit(_:)`, and also false when connection `connection` has `perConnectionLimit`
    /// pieces of work waiting or running.
    func submit(connection: UInt64, _ work: @escaping @Sendable () -> Void) -> Bool {
        enqueue(connection: connection) {
            work()
            return nil
        }
    }

    /// Work waiting or running now.
    var count: Int { inFlight.load(ordering: .relaxed) }

    /// Runs `work` on the queue; false (and `work` never runs) when `limit` are waiting or running.
    func submit(_ work: @escaping @Sendable () -> Void) -> Bool {
        enqueue(connection: nil) {
            work()
            return nil
        }
    }

    /// Takes a place in all (and one of `connection`'s, when given) or returns false; runs `work`
    /// on the queue, gives the places back, and then runs what `work` returned, if anything.
    private func enqueue(
        connection: UInt64?, _ work: @escaping @Sendable () -> (@Sendable () -> Void)?
    ) -> Bool {
        if let connection {
            let admitted = byConnection.withLock { counts in
                guard counts[connection, default: 0] < perConnectionLimit else { return false }
                counts[connection, default: 0] += 1
                return true
            }
            guard admitted else { return false }
        }
        guard inFlight.add(1, ordering: .acquiringAndReleasing).newValue <= limit else {
            inFlight.subtract(1, ordering: .acquiringAndReleasing)
            leave(connection: connection)
            return false
        }
        queue.async {
            let then = work()
            self.leave(connection: connection)
            self.inFlight.subtract(1, ordering: .acquiringAndReleasing)
            then?()
        }
        return true
    }

    /// Gives one of `connection`'s places back (none when nil).
    private func leave(connection: UInt64?) {
        guard let connection else { return }
        byConnection.withLock { counts in
            let left = counts[connection, default: 1] - 1
            counts[connection] = left > 0 ? left : nil
        }
    }
}

/// Whether a call still wants its answer; set by its handler on the event loop, read by work
/// waiting on `QueryQueue`.
final class CallLiveness: Sendable {
    private let ended = Atomic<Bool>(false)

    var isLive: Bool { !ended.load(ordering: .relaxed) }

    func end() { ended.store(true, ordering: .relaxed) }
}

/// At most `limit` exports are built at once: a document is held whole while it is built (tens of
/// MB for a large recall) before the output budget can count it.
final class ExportGate: Sendable {
    static let shared = ExportGate(limit: 2)

    let limit: Int
    private let building = Atomic<Int>(0)

    init(limit: Int) { self.limit = max(1, limit) }

    /// Takes a place; false when `limit` exports are being built.
    func enter() -> Bool {
        guard building.add(1, ordering: .acquiringAndReleasing).newValue <= limit else {
            building.subtract(1, ordering: .acquiringAndReleasing)
            return false
        }
        return true
    }

    func leave() { building.subtract(1, ordering: .acquiringAndReleasing) }
}
