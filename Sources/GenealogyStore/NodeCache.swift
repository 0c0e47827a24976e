import MESDomain
import SQLite

/// The writer's memory of nodes it met recently: a lot, serial, container or order named by a
/// recent event is found here instead of by a probe of the node indexes (most events name an order
/// and a lot that earlier events named). Holds the id and the two columns `GenealogyRows.node`
/// decides on (origin, a serial's lot); nodes are never deleted and their ids never change, and
/// the writer is the only one to change those columns, so an entry stays true while its
/// transaction stands.
///
/// A rollback may undo a node or a change the cache has taken in: every rollback on the write
/// connection empties it (`WriterSavepoint`, `IngestWriter`). Bounded: emptied when full.
///
/// Writer thread only (reached through `WriterMirrors`, made before the thread starts).
final class NodeCache {
    struct Key: Hashable {
        /// `nodes.kind`: lot, serial, container or order.
        let kind: String
        let product: String
        /// The lot, serial, container or order name.
        let name: String
    }

    struct OrderOutput: Hashable {
        let order: Int64
        let output: Int64
    }

    struct Entry {
        let id: Int64
        var origin: String
        var lot: String
    }

    private var entries: [Key: Entry] = [:]
    /// Order → output edges known to exist (`GenealogyRows.orderOutput`); never deleted either.
    private var orderOutputs: Set<OrderOutput> = []
    let capacity: Int

    init(capacity: Int = 32_768) {
        self.capacity = capacity
    }

    /// The cache on the store's write connection; nil on any other connection.
    static func on(_ db: SQLiteConnection) -> NodeCache? { (db.attachment as? WriterMirrors)?.nodes }

    static func key(_ ref: LotRef) -> Key {
        switch ref.kind {
        case .serial: Key(kind: "serial", product: ref.product, name: ref.serial)
        case .container: Key(kind: "container", product: "", name: ref.container)
        default: Key(kind: "lot", product: ref.product, name: ref.lot)
        }
    }

    static func order(_ name: String) -> Key { Key(kind: "order", product: "", name: name) }

    subscript(key: Key) -> Entry? { entries[key] }

    func remember(_ key: Key, _ entry: Entry) {
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[key] = entry
    }

    func hasOrderOutput(order: Int64, output: Int64) -> Bool {
        orderOutputs.contains(OrderOutput(order: order, output: output))
    }

    func rememberOrderOutput(order: Int64, output: Int64) {
        if orderOutputs.count >= capacity { orderOutputs.removeAll(keepingCapacity: true) }
        orderOutputs.insert(OrderOutput(order: order, output: output))
    }

    /// After a rollback: forget everything (what was learned before it may be undone).
    func clear() {
        entries.removeAll(keepingCapacity: true)
        orderOutputs.removeAll(keepingCapacity: true)
    }

    var count: Int { entries.count }
}
