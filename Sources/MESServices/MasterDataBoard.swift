public import MESDomain
import NIOCore
import Synchronization

/// The newest revision of every master data item, and the subscribers who want to hear of every
/// new one. Loaded from the store at start, fed by the master data poller (any thread); read by
/// MasterData.List and Subscribe on event loops (no SQLite there).
public final class MasterDataBoard: Sendable {
    private struct Subscriber: Sendable {
        var loop: any EventLoop
        var notify: @Sendable (MasterRevision) -> Void
    }

    private struct ItemID: Hashable {
        var kind: MasterDataKind
        var odooID: Int64
    }

    private struct State {
        var items: [ItemID: MasterRevision] = [:]
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0

        var sorted: [MasterRevision] {
            items.values.sorted { ($0.kind.rawValue, $0.key, $0.odooID) < ($1.kind.rawValue, $1.key, $1.odooID) }
        }
    }

    private let state = Mutex(State())

    /// A board holding `current` (the newest revision of each item, as stored).
    public init(current: [MasterRevision] = []) {
        state.withLock { state in
            for revision in current { state.items[ItemID(kind: revision.kind, odooID: revision.odooID)] = revision }
        }
    }

    /// The newest revision of every item, by kind and key.
    public var current: [MasterRevision] { state.withLock { $0.sorted } }

    /// Takes new revisions (in the order they were recorded); subscribers hear of each that is newer
    /// than what the board held.
    public func update(_ revisions: [MasterRevision]) {
        let (fresh, subscribers) = state.withLock { state -> ([MasterRevision], [Subscriber]) in
            var fresh: [MasterRevision] = []
            for revision in revisions {
                let id = ItemID(kind: revision.kind, odooID: revision.odooID)
                if let held = state.items[id], held.revision >= revision.revision { continue }
                state.items[id] = revision
                fresh.append(revision)
            }
            return (fresh, fresh.isEmpty ? [] : Array(state.subscribers.values))
        }
        for subscriber in subscribers {
            subscriber.loop.execute { fresh.forEach(subscriber.notify) }
        }
    }

    func subscribe(loop: any EventLoop, notify: @escaping @Sendable (MasterRevision) -> Void) -> (
        id: Int, current: [MasterRevision]
    ) {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = Subscriber(loop: loop, notify: notify)
            return (id, state.sorted)
        }
    }

    func unsubscribe(_ id: Int) {
        _ = state.withLock { $0.subscribers.removeValue(forKey: id) }
    }
}
