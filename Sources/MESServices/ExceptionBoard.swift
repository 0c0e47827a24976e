public import MESDomain
import NIOCore
import Synchronization

/// The exceptions not closed, newest first, and the subscribers of `mes.v1.Exceptions/Subscribe`.
/// Fed by the store after each commit reached the disk (`GenealogyStore.watchExceptions`, on the
/// store's completion thread: `apply` only takes the lock and hands each change to the
/// subscribers' event loops).
///
/// Bounded: it keeps the newest `limit` exceptions not closed (older ones are still in the store,
/// for List and the CLI).
public final class ExceptionBoard: Sendable {
    /// How many exceptions not closed the board keeps, and Subscribe sends first.
    public static let defaultLimit = 1_000

    private struct Subscriber: Sendable {
        var loop: any EventLoop
        var notify: @Sendable (PlantException) -> Void
    }

    private struct State {
        var unclosed: [Int64: PlantException] = [:]
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())
    private let limit: Int

    /// A board holding `unclosed` (as the store has them at start).
    public init(unclosed: [PlantException] = [], limit: Int = ExceptionBoard.defaultLimit) {
        self.limit = max(1, limit)
        apply(unclosed, notify: false)
    }

    /// The exceptions not closed, newest first.
    public var current: [PlantException] { state.withLock { Self.newestFirst($0.unclosed) } }

    /// Records committed changes (new, acknowledged, closed) and tells every subscriber.
    public func apply(_ changes: [PlantException]) { apply(changes, notify: true) }

    private func apply(_ changes: [PlantException], notify: Bool) {
        let subscribers = state.withLock { state -> [Subscriber] in
            for x in changes {
                if x.state == .closed {
                    state.unclosed[x.id] = nil
                } else {
                    state.unclosed[x.id] = x
                }
            }
            if state.unclosed.count > limit {
                for id in state.unclosed.keys.sorted().prefix(state.unclosed.count - limit) { state.unclosed[id] = nil }
            }
            return notify ? Array(state.subscribers.values) : []
        }
        for subscriber in subscribers {
            subscriber.loop.execute { for x in changes { subscriber.notify(x) } }
        }
    }

    func subscribe(loop: any EventLoop, notify: @escaping @Sendable (PlantException) -> Void) -> (
        id: Int, current: [PlantException]
    ) {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = Subscriber(loop: loop, notify: notify)
            return (id, Self.newestFirst(state.unclosed))
        }
    }

    func unsubscribe(_ id: Int) {
        _ = state.withLock { $0.subscribers.removeValue(forKey: id) }
    }

    private static func newestFirst(_ unclosed: [Int64: PlantException]) -> [PlantException] {
        unclosed.values.sorted { $0.id > $1.id }
    }
}
