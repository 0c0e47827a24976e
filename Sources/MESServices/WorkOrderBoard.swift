public import MESDomain
import NIOCore
import Synchronization

/// The released production orders the plant may work on, and the subscribers who want to hear of
/// every change. Fed by the release poller (any thread); read by WorkOrders.List and Subscribe.
public final class WorkOrderBoard: Sendable {
    private struct Subscriber: Sendable {
        var loop: any EventLoop
        var notify: @Sendable (WorkOrder) -> Void
    }

    private struct State {
        var orders: [String: WorkOrder] = [:]
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// A board holding `orders` (as stored at the last run), revisions kept.
    public init(orders: [WorkOrder] = []) {
        state.withLock { state in
            for order in orders { state.orders[order.id] = order }
        }
    }

    /// The released orders, by name.
    public var current: [WorkOrder] { state.withLock { $0.orders.values.sorted { $0.id < $1.id } } }

    /// Records what Odoo says of an order. New or changed: its revision grows and subscribers hear
    /// of it; no longer released (done, cancelled): subscribers hear once and it leaves the set.
    /// Returns the order with its new revision when anything changed.
    @discardableResult
    public func update(_ order: WorkOrder) -> WorkOrder? {
        let (changed, subscribers) = state.withLock { state -> (WorkOrder?, [Subscriber]) in
            let old = state.orders[order.id]
            var new = order
            new.revision = old?.revision ?? 0
            if let old, old == new { return (nil, []) }
            if old == nil && !order.isReleased { return (nil, []) }  // never seen released: nobody cares
            new.revision += 1
            state.orders[order.id] = order.isReleased ? new : nil
            return (new, Array(state.subscribers.values))
        }
        guard let changed else { return nil }
        for subscriber in subscribers { subscriber.loop.execute { subscriber.notify(changed) } }
        return changed
    }

    func subscribe(loop: any EventLoop, notify: @escaping @Sendable (WorkOrder) -> Void) -> (
        id: Int, current: [WorkOrder]
    ) {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = Subscriber(loop: loop, notify: notify)
            return (id, state.orders.values.sorted { $0.id < $1.id })
        }
    }

    func unsubscribe(_ id: Int) {
        _ = state.withLock { $0.subscribers.removeValue(forKey: id) }
    }
}
