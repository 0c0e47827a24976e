import GenealogySchema
import SQLite

/// Checks that a database file is a mesgate store this build can use, and brings its schema up to
/// date: each migration in one transaction, recorded in `schema_migrations` and `user_version`.
///
/// Runs on the thread that opens the store, before the writer thread starts.
struct SchemaMigrator {
    let db: SQLiteConnection
    let migrations: [Migration]
    let nowMs: Int64

    /// Applies every migration above `current` (the version `check()` returned).
    func migrate(from current: Int) throws(GenealogyStoreError) {
        guard migrations.contains(where: { $0.version > current }) else { return }
        // Migration 16 edits constraint text in sqlite_master, which defensive mode forbids (some
        // SQLite builds have it on by default): off while migrating, as it was afterwards.
        let defensive = db.isDefensive
        do throws(SQLiteError) {
            if defensive { try db.setDefensive(false) }
        } catch {
            throw GenealogyStoreError(.openFailed, "cannot allow the schema migrations", underlying: error)
        }
        defer { if defensive { try? db.setDefensive(true) } }
        for migration in migrations where migration.version > current {
            do throws(SQLiteError) {
                try db.execute("BEGIN IMMEDIATE")
                do throws(SQLiteError) {
                    try db.execute(migration.sql)
                    // The audit trail's first entries describe what the store held before it.
                    if migration.version == AuditBackfill.migrationVersion { try AuditBackfill(db: db).run() }
                    try db.run(
                        "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?1, ?2, ?3)",
                        [.int(migration.version), .text(migration.name), .integer(nowMs)])
                    // PRAGMA takes no bound parameters; the version is an Int from this build.
                    try db.execute("PRAGMA user_version = \(migration.version)")
                    try db.execute("COMMIT")
                } catch {
                    try? db.execute("ROLLBACK")
                    throw error
                }
            } catch {
                throw GenealogyStoreError(
                    .openFailed, "migration \(migration.version) (\(migration.name)) failed", underlying: error)
            }
        }
    }

    /// The file's schema version; throws when the file is not a mesgate store or is newer than this build.
    func check() throws(GenealogyStoreError) -> Int {
        let applicationID: Int64
        let version: Int64
        let tables: Int64
        do throws(SQLiteError) {
            applicationID = try integer("PRAGMA application_id")
            version = try integer("PRAGMA user_version")
            tables = try integer("SELECT count(*) FROM sqlite_master")
        } catch  where error.code ~= .notADatabase {
            throw GenealogyStoreError(.notAStore, "\(db.path) is not an SQLite database", underlying: error)
        } catch {
            throw GenealogyStoreError(.openFailed, "cannot read \(db.path)", underlying: error)
        }
        if applicationID == 0 && version == 0 && tables == 0 { return 0 }  // a new, empty file
        guard applicationID == Int64(Migrations.applicationID) else {
            throw GenealogyStoreError(
                .notAStore, "\(db.path) is an SQLite database but not a mesgate genealogy store")
        }
        let latest = migrations.last?.version ?? 0
        guard version <= latest else {
            throw GenealogyStoreError(
                .newerSchema,
                "\(db.path) has schema version \(version), newer than this build's \(latest): use a newer mesgate")
        }
        return Int(version)
    }

    private func integer(_ sql: String) throws(SQLiteError) -> Int64 {
        guard case .integer(let value) = try db.scalar(sql) else { return 0 }
        return value
    }
}
