import Foundation
public import MESDomain
import SQLite

/// The released production orders as last read from Odoo (`work_orders`), written by the release
/// poller through a connection of its own. Not `Sendable`: confined to the thread that opened it.
public final class WorkOrderStore {
    private let db: SQLiteConnection

    /// Opens the work orders of the store at `path` (`GenealogyStore.path`), which must be migrated.
    public init(path: String) throws(GenealogyStoreError) {
        do throws(SQLiteError) {
            db = try .sideWriter(at: path)
            try db.execute("PRAGMA synchronous = NORMAL")  // Odoo has the order; a lost row is read again
        } catch {
            throw GenealogyStoreError(.openFailed, "cannot open the work orders of \(path)", underlying: error)
        }
    }

    /// The order called `name` as last saved, if it was.
    public func stored(_ name: String) throws(GenealogyStoreError) -> WorkOrder? {
        do throws(SQLiteError) {
            return try Self.stored(name, in: db)
        } catch {
            throw GenealogyStoreError(.queryFailed, "cannot read a work order", underlying: error)
        }
    }

    /// The order called `name` as last saved, read on `db` (also the writer's, in its transaction).
    static func stored(_ name: String, in db: SQLiteConnection) throws(SQLiteError) -> WorkOrder? {
        let body = try db.cachedStatement("SELECT body FROM work_orders WHERE name = ?1").first([.text(name)]) {
            $0.string(at: 0)
        }
        return body.flatMap { try? JSONDecoder().decode(WorkOrder.self, from: Data($0.utf8)) }
    }

    /// Records `order` as it is now (a done or cancelled order is kept with its state).
    public func save(_ order: WorkOrder, nowMs: Int64) throws(GenealogyStoreError) {
        let body = (try? String(decoding: JSONEncoder().encode(order), as: UTF8.self)) ?? "{}"
        do throws(SQLiteError) {
            try db.run(
                """
                INSERT INTO work_orders (name, odoo_id, state, revision, body, updated_at_ms)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                ON CONFLICT (name) DO UPDATE SET odoo_id = ?2, state = ?3, revision = ?4, body = ?5, updated_at_ms = ?6
                """,
                [
                    .text(order.id), .integer(order.odooID), .text(order.state), .integer(Int64(order.revision)),
                    .text(body), .integer(nowMs),
                ])
        } catch {
            throw GenealogyStoreError(.commitFailed, "cannot save work order", underlying: error)
        }
    }
}

extension GenealogyStore {
    /// The stored orders that are still released (confirmed or in progress), by name.
    public func releasedWorkOrders() throws -> [WorkOrder] {
        try read { db in
            var orders: [WorkOrder] = []
            try db.cachedStatement(
                "SELECT body FROM work_orders WHERE state IN ('confirmed', 'progress') ORDER BY name"
            ).query {
                if let order = try? JSONDecoder().decode(WorkOrder.self, from: Data($0.string(at: 0).utf8)) {
                    orders.append(order)
                }
            }
            return orders
        }
    }
}
