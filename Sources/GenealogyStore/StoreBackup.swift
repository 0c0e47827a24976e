import Foundation
import GenealogySchema
import SQLite

/// What a checked copy of a store holds: for `mesgate backup` and `restore` to print.
public struct StoreCopyReport: Sendable, Hashable {
    /// The copy's size in bytes.
    public var bytes: Int64
    /// Rows in `events`.
    public var events: Int64
    /// Entries in the audit trail, and its head (id and lowercase hex hash).
    public var auditEntries: Int64
    public var auditHeadID: Int64
    public var auditHeadHash: String
}

/// Online backups of a store and their checks.
///
/// The copy runs SQLite's online backup (`SQLiteBackup`) from a read-only connection that holds one
/// read transaction from the first page to the last: every page comes from the same snapshot, so
/// the copy is the store as it was at one commit, and in WAL mode that transaction never blocks
/// the server's writer. The copy is made in chunks of pages (so progress can be shown), written to
/// a temporary file beside the destination, switched to a single file (rollback journal), checked
/// (`PRAGMA quick_check` and the whole audit chain) and only then renamed over the destination.
/// While it runs the server's WAL cannot start over (the read transaction pins it) and grows by
/// what is committed meanwhile. Runs on the calling thread.
public enum StoreBackup {
    /// How the pages are copied.
    public enum Method: String, Sendable, CaseIterable {
        /// SQLite's online backup API in chunks of pages, with progress: the default.
        case backupAPI = "backup-api"
        /// `VACUUM INTO`: one statement, a compacted copy, no progress (for comparison).
        case vacuumInto = "vacuum-into"
    }

    /// Copies the store file `storePath` to `destination` and checks the copy. `progress` is
    /// called after each chunk with the pages copied and the pages in all (`backupAPI` only).
    public static func copy(
        storePath: String, to destination: String, method: Method = .backupAPI, pagesPerStep: Int32 = 1_024,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws(GenealogyStoreError) -> StoreCopyReport {
        let partial = destination + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: partial)
        let source = try open(storePath)
        _ = try SchemaMigrator(db: source, migrations: Migrations.all, nowMs: 0).check()
        do throws(SQLiteError) {
            switch method {
            case .backupAPI: try copyPages(source, to: partial, pagesPerStep: pagesPerStep, progress: progress)
            // One statement, one read transaction: the same snapshot guarantee.
            case .vacuumInto: try source.run("VACUUM INTO ?1", [.text(partial)])
            }
            // A single file: no -wal/-shm beside the copy when it is read, moved or restored.
            let target = try SQLiteConnection(path: partial, mode: .readWrite)
            _ = try target.scalar("PRAGMA journal_mode = DELETE")
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw GenealogyStoreError(.openFailed, "the copy of \(storePath) failed", underlying: error)
        }
        let report: StoreCopyReport
        do throws(GenealogyStoreError) {
            report = try check(partial)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        do {
            if FileManager.default.fileExists(atPath: destination) {
                _ = try FileManager.default.replaceItemAt(
                    URL(fileURLWithPath: destination), withItemAt: URL(fileURLWithPath: partial))
            } else {
                try FileManager.default.moveItem(atPath: partial, toPath: destination)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw GenealogyStoreError(.directoryNotWritable, "cannot write \(destination): \(error)")
        }
        return report
    }

    /// Checks a copy: an SQLite file whose `PRAGMA quick_check` is ok, a mesgate store no newer
    /// than this build, and an audit trail that verifies whole. Throws `.checkFailed` saying
    /// what is wrong.
    public static func check(_ path: String) throws(GenealogyStoreError) -> StoreCopyReport {
        let db = try open(path)
        _ = try SchemaMigrator(db: db, migrations: Migrations.all, nowMs: 0).check()
        var problems: [String] = []
        let events: SQLiteValue?
        do throws(SQLiteError) {
            try db.prepare("PRAGMA quick_check").query { problems.append($0.string(at: 0)) }
            events = try db.scalar("SELECT count(*) FROM events")
        } catch {
            throw GenealogyStoreError(.checkFailed, "cannot check \(path)", underlying: error)
        }
        guard problems == ["ok"] else {
            throw GenealogyStoreError(
                .checkFailed, "\(path) fails PRAGMA quick_check: \(problems.prefix(3).joined(separator: "; "))")
        }
        guard case .integer(let eventCount) = events else {
            throw GenealogyStoreError(.checkFailed, "\(path) has no events")
        }
        let verification = try AuditTrail(path: path).verify()
        if let problem = verification.problem {
            throw GenealogyStoreError(.checkFailed, "\(path): audit trail NOT intact: \(problem.message)")
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        return StoreCopyReport(
            bytes: bytes, events: eventCount, auditEntries: verification.entries, auditHeadID: verification.headID,
            auditHeadHash: verification.headHash)
    }

    /// The backup API under one read transaction of `source`, `pagesPerStep` pages at a time.
    private static func copyPages(
        _ source: SQLiteConnection, to path: String, pagesPerStep: Int32, progress: (Int, Int) -> Void
    ) throws(SQLiteError) {
        // One snapshot for the whole copy: the read transaction begins at the first read.
        try source.execute("BEGIN")
        defer { try? source.execute("COMMIT") }
        _ = try source.scalar("SELECT count(*) FROM sqlite_master")
        let target = try SQLiteConnection(path: path, mode: .readWriteCreate)
        let backup = try SQLiteBackup(from: source, to: target)
        var busyRetries = 0
        while true {
            do throws(SQLiteError) {
                let done = try backup.step(pages: max(1, pagesPerStep))
                progress(backup.totalPages - backup.remainingPages, backup.totalPages)
                if done { break }
            } catch  where (error.code ~= .busy || error.code ~= .locked) && busyRetries < 500 {
                busyRetries += 1
                usleep(10_000)
            }
        }
        try backup.finish()
    }

    private static func open(_ path: String) throws(GenealogyStoreError) -> SQLiteConnection {
        guard FileManager.default.fileExists(atPath: path) else {
            throw GenealogyStoreError(.openFailed, "no store at \(path)")
        }
        do throws(SQLiteError) {
            return try SQLiteConnection(path: path, mode: .readOnly)
        } catch {
            throw GenealogyStoreError(.openFailed, "cannot open \(path) read-only", underlying: error)
        }
    }
}
