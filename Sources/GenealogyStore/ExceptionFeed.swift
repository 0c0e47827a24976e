public import MESDomain
import SQLite
import Synchronization

/// Exceptions raised or changed in the writer's transaction, told to the listeners (the
/// `mes.v1.Exceptions` board) only once that transaction has committed: a rolled-back savepoint or
/// transaction takes its changes back out (`WriterSavepoint`, `IngestWriter`), so nobody hears
/// of an exception that is not stored.
///
/// `@unchecked Sendable`: `pending` is used only on the writer thread (inside its transactions and
/// right after COMMIT); the listeners are behind a `Mutex`. Listeners run where acks are completed,
/// once the transaction is durable (`CommitSyncer`'s thread; the writer's when commits are not
/// synced): they must only hand the changes on (hop to an event loop), never block.
public final class ExceptionFeed: @unchecked Sendable {
    private var pending: [PlantException] = []
    private let listeners = Mutex<[@Sendable ([PlantException]) -> Void]>([])

    init() {}

    /// The feed of the store's write connection, nil on other connections.
    static func on(_ db: SQLiteConnection) -> ExceptionFeed? { (db.attachment as? WriterMirrors)?.exceptions }

    /// Adds a listener told of every committed change, in commit order, where acks are completed.
    public func watch(_ listener: @escaping @Sendable ([PlantException]) -> Void) {
        listeners.withLock { $0.append(listener) }
    }

    /// Writer thread, inside the transaction: `exception` as it stands after the change.
    func record(_ exception: PlantException) { pending.append(exception) }

    /// Where the pending list stands, to go back to (`WriterSavepoint`).
    var mark: Int { pending.count }

    /// After ROLLBACK TO the savepoint where `mark` was taken.
    func rollBack(to mark: Int) {
        if mark < pending.count { pending.removeSubrange(mark...) }
    }

    /// After a whole transaction's ROLLBACK.
    func discard() { pending.removeAll() }

    /// After COMMIT: what the transaction changed, to be told once it is durable (`tell`).
    func committed() -> [PlantException] {
        defer { pending.removeAll() }
        return pending
    }

    /// Tells the listeners of committed changes (nothing when `changes` is empty).
    func tell(_ changes: [PlantException]) {
        guard !changes.isEmpty else { return }
        for listener in listeners.withLock({ $0 }) { listener(changes) }
    }
}
