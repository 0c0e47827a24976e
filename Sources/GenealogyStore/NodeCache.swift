import MESDomain
import SQLite

/// The writer's memory of nodes it met recently: a lot, serial, container or order named by a
/// recent event is found here instead of by a probe of the node indexes (most events name an order
/// and a lot that earlier events named). Holds the id and the two columns `GenealogyRows.node`
/// decides on (origin, a serial's lot); nodes are never deleted and their ids never change.
///
/// Emptied whenever an entry may have stopped being true (`WriterMirrors`): after every rollback
/// on the write connection, which may undo a node or a change the cache took in, and when a batch
/// begins after another connection committed (a tool's writer beside the server, `mesgate
/// import-epcis --data`, may change a node's origin; `AuditChain.beginTransaction` watches
/// `PRAGMA data_version`). Bounded: emptied when full.
///
/// Writer thread only (reached through `WriterMirrors`, made before the thread starts).
final class NodeCache {
    /// Names compared by their UTF-8 bytes, as SQLite compares them: Swift's `==` on `String`
    /// takes canonically equivalent text as equal ("Ä" as one scalar or as "A" and a combining
    /// mark), which SQLite keeps as two nodes.
    struct Key: Hashable {
        /// `nodes.kind`: lot, serial, container or order.
        let kind: String
        let product: String
        /// The lot, serial, container or order name.
        let name: String

        static func == (a: Key, b: Key) -> Bool {
            a.kind.hasSameUTF8(as: b.kind) && a.product.hasSameUTF8(as: b.product) && a.name.hasSameUTF8(as: b.name)
        }

        func hash(into hasher: inout Hasher) {
            Self.combine(kind, into: &hasher)
            Self.combine(product, into: &hasher)
            Self.combine(name, into: &hasher)
        }

        private static func combine(_ text: String, into hasher: inout Hasher) {
            var text = text
            text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
            hasher.combine(0xFF as UInt8)  // no UTF-8 byte: keeps ("ab", "c") apart from ("a", "bc")
        }
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
}
