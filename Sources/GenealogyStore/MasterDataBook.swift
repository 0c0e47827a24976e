import Foundation
public import MESDomain
public import SQLite

/// Master data read from Odoo, versioned (`master_items`, `master_revisions`; genealogy/MODEL.md,
/// "Master data"): every change of an item is a new revision with its whole content and the
/// fields that changed; nothing is overwritten.
///
/// Every function takes the connection to use, so that it runs wherever its caller is: on the
/// ingest writer thread inside the batch's transaction (validation), on a reader of the pool
/// (`GenealogyStore.masterData`), or on the pollers' own connection (`MasterDataWriter`).
/// `record` must run inside a write transaction the caller owns.
public enum MasterDataBook {
    /// Records `item` (Odoo's record `odooID`, as of its `write_date`) as the item's next revision
    /// when its content differs from the newest; returns that revision, or nil when nothing changed.
    public static func record(
        _ item: MasterItem, odooID: Int64, odooWriteDate: String, nowMs: Int64, in db: SQLiteConnection
    ) throws(SQLiteError) -> MasterRevision? {
        let kind = item.kind
        let previous = try current(kind, odooID: odooID, in: db)
        if let previous, previous.item == item { return nil }
        let key = item.key(odooID: odooID)
        let content = MasterContent.encode(item)
        let changed = previous.map { MasterContent.changedFields(from: $0.item, to: item) } ?? []
        let revision = (previous?.revision ?? 0) + 1
        let name = lookupName(item)
        try db.run(
            """
            INSERT INTO master_items (kind, odoo_id, key, name, revision) VALUES (?1, ?2, ?3, ?4, ?5)
            ON CONFLICT (kind, odoo_id) DO UPDATE SET key = ?3, name = ?4, revision = ?5
            """,
            [.text(kind.rawValue), .integer(odooID), .text(key), .text(name), .integer(Int64(revision))])
        let itemID =
            try db.cachedStatement("SELECT id FROM master_items WHERE kind = ?1 AND odoo_id = ?2").first([
                .text(kind.rawValue), .integer(odooID),
            ]) { $0.int64(at: 0) } ?? 0
        try db.run(
            """
            INSERT INTO master_revisions (item_id, revision, key, content, changed, odoo_write_date, recorded_at_ms)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            """,
            [
                .integer(itemID), .integer(Int64(revision)), .text(key), .text(content),
                .text(MasterContent.encodeList(changed)), .text(odooWriteDate), .integer(nowMs),
            ])
        return MasterRevision(
            key: key, odooID: odooID, revision: revision, sequence: db.lastInsertRowID, recordedAtMs: nowMs,
            odooWriteDate: odooWriteDate, changedFields: changed, item: item)
    }

    /// The newest revision of the item with `key` (a product code, a BoM's Odoo id, a work
    /// center's code or name-when-it-has-no-code, a unit name).
    public static func current(_ kind: MasterDataKind, key: String, in db: SQLiteConnection)
        throws(SQLiteError) -> MasterRevision?
    {
        try one(
            "WHERE i.kind = ?1 AND i.key = ?2 AND r.revision = i.revision ORDER BY i.odoo_id LIMIT 1",
            [.text(kind.rawValue), .text(key)], in: db)
    }

    /// The newest revision of Odoo's record `odooID`.
    public static func current(_ kind: MasterDataKind, odooID: Int64, in db: SQLiteConnection)
        throws(SQLiteError) -> MasterRevision?
    {
        try one(
            "WHERE i.kind = ?1 AND i.odoo_id = ?2 AND r.revision = i.revision",
            [.text(kind.rawValue), .integer(odooID)],
            in: db)
    }

    /// Every revision of the item with `key`, oldest first (empty when there is no such item).
    public static func history(_ kind: MasterDataKind, key: String, in db: SQLiteConnection)
        throws(SQLiteError) -> [MasterRevision]
    {
        guard let newest = try current(kind, key: key, in: db) else { return [] }
        return try many(
            "WHERE i.kind = ?1 AND i.odoo_id = ?2 ORDER BY r.revision",
            [.text(kind.rawValue), .integer(newest.odooID)],
            in: db)
    }

    /// The newest revision of every item of `kind` (all kinds when nil), by kind and key.
    public static func list(_ kind: MasterDataKind?, in db: SQLiteConnection) throws(SQLiteError) -> [MasterRevision] {
        if let kind {
            return try many(
                "WHERE i.kind = ?1 AND r.revision = i.revision ORDER BY i.key, i.odoo_id", [.text(kind.rawValue)],
                in: db)
        }
        return try many("WHERE r.revision = i.revision ORDER BY i.kind, i.key, i.odoo_id", [], in: db)
    }

    /// Revisions recorded after the one numbered `sequence`, in the order they were recorded, at most `limit`.
    public static func revisions(after sequence: Int64, limit: Int, in db: SQLiteConnection)
        throws(SQLiteError) -> [MasterRevision]
    {
        try many("WHERE r.id > ?1 ORDER BY r.id LIMIT ?2", [.integer(sequence), .integer(Int64(limit))], in: db)
    }

    /// The number of the newest revision of any item (0 when there is none).
    public static func lastSequence(in db: SQLiteConnection) throws(SQLiteError) -> Int64 {
        if case .integer(let id) = try db.scalar("SELECT max(id) FROM master_revisions") { return id }
        return 0
    }

    // MARK: Lookups for validation

    /// The product whose code (`default_code`) is `code`: tracking, unit, unit category.
    public static func product(code: String, in db: SQLiteConnection) throws(SQLiteError) -> MasterProduct? {
        guard case .product(let product)? = try current(.product, key: code, in: db)?.item else { return nil }
        return product
    }

    /// The unit of measure called `name`.
    public static func uom(named name: String, in db: SQLiteConnection) throws(SQLiteError) -> MasterUoM? {
        guard case .uom(let uom)? = try current(.uom, key: name, in: db)?.item else { return nil }
        return uom
    }

    /// The category of the unit called `name` (units of one category convert into each other).
    public static func uomCategory(of name: String, in db: SQLiteConnection) throws(SQLiteError) -> String? {
        try uom(named: name, in: db)?.category
    }

    /// The work center a plant names `codeOrName`: by Odoo's `code` first, then by its name.
    public static func workCenter(_ codeOrName: String, in db: SQLiteConnection) throws(SQLiteError)
        -> MasterWorkCenter?
    {
        let byCode = try many(
            "WHERE i.kind = 'work_center' AND r.revision = i.revision AND i.key = ?1 ORDER BY i.odoo_id",
            [.text(codeOrName)], in: db)
        for revision in byCode {
            if case .workCenter(let center) = revision.item, center.code == codeOrName { return center }
        }
        let byName = try one(
            "WHERE i.kind = 'work_center' AND r.revision = i.revision AND i.name = ?1 ORDER BY i.odoo_id LIMIT 1",
            [.text(codeOrName)], in: db)
        if case .workCenter(let center)? = byName?.item { return center }
        if case .workCenter(let center)? = byCode.first?.item { return center }
        return nil
    }

    /// The BoM Odoo would use for `product` (by code): the active one with the lowest sequence,
    /// then the lowest id; its newest revision.
    public static func currentBOM(product: String, in db: SQLiteConnection) throws(SQLiteError) -> MasterRevision? {
        let candidates = try many(
            "WHERE i.kind = 'bom' AND r.revision = i.revision AND i.name = ?1 ORDER BY i.odoo_id", [.text(product)],
            in: db)
        return
            candidates
            .filter { if case .bom(let b) = $0.item { b.active } else { false } }
            .min { a, b in
                let (sa, sb) = (a.item.bom?.sequence ?? 0, b.item.bom?.sequence ?? 0)
                return sa != sb ? sa < sb : a.odooID < b.odooID
            }
    }

    // MARK: Rows

    /// `name` column: a work center's name, a BoM's product code, else the item's key.
    private static func lookupName(_ item: MasterItem) -> String {
        switch item {
        case .workCenter(let w): w.name
        case .bom(let b): b.product
        case .product(let p): p.code
        case .uom(let u): u.name
        }
    }

    private static let select = """
        SELECT i.kind, r.key, i.odoo_id, r.revision, r.id, r.recorded_at_ms, r.odoo_write_date, r.changed, r.content
        FROM master_revisions r JOIN master_items i ON i.id = r.item_id
        """

    private static func one(_ tail: String, _ values: [SQLiteValue], in db: SQLiteConnection)
        throws(SQLiteError) -> MasterRevision?
    {
        try many(tail, values, in: db).first
    }

    private static func many(_ tail: String, _ values: [SQLiteValue], in db: SQLiteConnection)
        throws(SQLiteError) -> [MasterRevision]
    {
        var out: [MasterRevision] = []
        try db.cachedStatement(select + " " + tail).query(values) { row throws(SQLiteError) in
            // A row whose content this build cannot read (written by a newer one) is left out.
            guard let kind = MasterDataKind(rawValue: row.string(at: 0)),
                let item = MasterContent.decode(kind, row.string(at: 8))
            else { return }
            out.append(
                MasterRevision(
                    key: row.string(at: 1), odooID: row.int64(at: 2), revision: UInt64(max(0, row.int64(at: 3))),
                    sequence: row.int64(at: 4), recordedAtMs: row.int64(at: 5), odooWriteDate: row.string(at: 6),
                    changedFields: MasterContent.decodeList(row.string(at: 7)), item: item))
        }
        return out
    }
}

extension GenealogyStore {
    /// Runs master data lookups (`MasterDataBook`) on a pooled reader, on the calling thread.
    public func masterData<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try read(body)
    }
}
