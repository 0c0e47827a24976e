import Foundation
public import MESDomain
public import SQLite

/// Master data as the pollers (and `mesgate masterdata sync`) write it: a connection of its own to
/// the store, one short write transaction per batch of items read from Odoo. Not `Sendable`:
/// confined to the thread that opened it.
public final class MasterDataWriter {
    private let db: SQLiteConnection

    /// Opens the master data of the store at `path` (`GenealogyStore.path`), which must be migrated.
    public init(path: String) throws(GenealogyStoreError) {
        do throws(SQLiteError) {
            db = try .sideWriter(at: path)
            try db.execute("PRAGMA foreign_keys = ON")
        } catch {
            throw GenealogyStoreError(.openFailed, "cannot open the master data of \(path)", underlying: error)
        }
    }

    /// One item as read from Odoo: its record id and `write_date`.
    public struct Read: Sendable {
        public var item: MasterItem
        public var odooID: Int64
        public var odooWriteDate: String

        public init(_ item: MasterItem, odooID: Int64, odooWriteDate: String) {
            self.item = item
            self.odooID = odooID
            self.odooWriteDate = odooWriteDate
        }
    }

    /// Records every item whose content changed, in one transaction; returns the new revisions.
    public func record(_ items: [Read], nowMs: Int64) throws(GenealogyStoreError) -> [MasterRevision] {
        guard !items.isEmpty else { return [] }
        do throws(SQLiteError) {
            try db.execute("BEGIN IMMEDIATE")
            do throws(SQLiteError) {
                var recorded: [MasterRevision] = []
                for read in items {
                    if let revision = try MasterDataBook.record(
                        read.item, odooID: read.odooID, odooWriteDate: read.odooWriteDate, nowMs: nowMs, in: db)
                    {
                        recorded.append(revision)
                    }
                }
                try db.execute("COMMIT")
                return recorded
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
        } catch {
            throw GenealogyStoreError(.commitFailed, "cannot record master data", underlying: error)
        }
    }

    /// Runs lookups (`MasterDataBook`) on this connection; throws what `body` throws.
    public func read<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try body(db)
    }
}
