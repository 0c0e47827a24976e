import Foundation
import GenealogySchema
import SQLite

/// One entry of the audit trail, as `mesgate audit list` shows it.
public struct AuditEntry: Sendable, Hashable {
    public var id: Int64
    public var atMs: Int64
    public var actor: String
    public var action: String
    public var subject: String
    public var reason: String
    public var detail: String
    /// Lowercase hex; empty when the entry describes no stored record.
    public var recordDigest: String
    public var hash: String
}

/// The audit trail of a store file, opened read-only (`mesgate audit list` and `verify`; safe
/// while the gateway runs: every read is one snapshot). Not `Sendable`: one thread uses it.
public final class AuditTrail {
    private let db: SQLiteConnection

    /// Opens `path` (the store's `genealogy.sqlite`) read-only and checks it has an audit trail.
    public init(path: String) throws(GenealogyStoreError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw GenealogyStoreError(.openFailed, "no store at \(path)")
        }
        do throws(SQLiteError) {
            db = try SQLiteConnection(path: path, mode: .readOnly)
            try db.execute("PRAGMA query_only = 1")
        } catch {
            throw GenealogyStoreError(.openFailed, "cannot open \(path) read-only", underlying: error)
        }
        let applicationID: SQLiteValue?
        let hasTrail: Bool
        let version: SQLiteValue?
        do throws(SQLiteError) {
            applicationID = try db.scalar("PRAGMA application_id")
            version = try db.scalar("PRAGMA user_version")
            hasTrail = try db.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'") != nil
        } catch  where error.code ~= .notADatabase {
            throw GenealogyStoreError(.notAStore, "\(path) is not an SQLite database", underlying: error)
        } catch  where error.code ~= .corrupt {
            throw GenealogyStoreError(
                .openFailed, "the store \(path) is damaged: SQLite said: \(error.message)", underlying: error)
        } catch {
            throw GenealogyStoreError(.openFailed, "cannot read \(path)", underlying: error)
        }
        guard applicationID == .integer(Int64(Migrations.applicationID)) else {
            throw GenealogyStoreError(.notAStore, "\(path) is not a mesgate genealogy store")
        }
        // A newer build may write entries this one cannot read (version 21 wrote runs of events):
        // verifying them here would call intact records unaudited.
        if case .integer(let v) = version, v > Migrations.latestVersion {
            throw GenealogyStoreError(
                .openFailed,
                "\(path) has schema version \(v), newer than this build's \(Migrations.latestVersion): read its trail with the mesgate that wrote it"
            )
        }
        guard hasTrail else {
            throw GenealogyStoreError(
                .openFailed,
                "\(path) has no audit trail yet (schema older than 4): open it once with this mesgate (e.g. serve) to migrate"
            )
        }
    }

    /// Entries oldest first, from `sinceMs` on, of `action` when given, at most `limit`.
    public func entries(sinceMs: Int64? = nil, action: String? = nil, limit: Int) throws(GenealogyStoreError)
        -> [AuditEntry]
    {
        do throws(SQLiteError) {
            var found: [AuditEntry] = []
            try db.prepare(
                """
                SELECT id, at_ms, actor, action, subject, reason, detail, record_digest, hash FROM audit_log
                WHERE at_ms >= ?1 AND (?2 IS NULL OR action = ?2) ORDER BY id LIMIT ?3
                """
            ).query([.integer(sinceMs ?? .min), action.map { .text($0) } ?? .null, .int(limit)]) {
                found.append(
                    AuditEntry(
                        id: $0.int64(at: 0), atMs: $0.int64(at: 1), actor: $0.string(at: 2), action: $0.string(at: 3),
                        subject: $0.string(at: 4), reason: $0.string(at: 5), detail: $0.string(at: 6),
                        recordDigest: hexString($0.blob(at: 7)), hash: hexString($0.blob(at: 8))))
            }
            return found
        } catch {
            throw GenealogyStoreError(.queryFailed, "cannot read the audit trail", underlying: error)
        }
    }

    /// The hash (hex) of entry `id`, or nil when there is no such entry: checks an anchor, a head
    /// hash an operator recorded earlier.
    public func hash(ofEntry id: Int64) throws(GenealogyStoreError) -> String? {
        do throws(SQLiteError) {
            return try db.prepare("SELECT hash FROM audit_log WHERE id = ?1").first([.integer(id)]) {
                hexString($0.blob(at: 0))
            }
        } catch {
            throw GenealogyStoreError(.queryFailed, "cannot read the audit trail", underlying: error)
        }
    }

    /// The tables the verification reads and whose indexes ingest relies on (the `event_id`
    /// index is what makes a re-sent event a duplicate): `verify` checks them with SQLite's
    /// `integrity_check`, every row against every index, at a cost proportional to their size.
    static let checkedTables = ["events", "audit_log", "holds", "outbox_audit"]

    /// Walks the whole chain (see `AuditVerifier`), then checks the tables it read and their
    /// indexes (`checkedTables`). `progress(done, total)` is called every `progressEvery` entries.
    /// Damage SQLite reports, or stumbles over while reading, is a `.damaged` problem.
    public func verify(progressEvery: Int = 100_000, progress: @escaping (Int64, Int64) -> Void = { _, _ in })
        throws(GenealogyStoreError) -> AuditVerification
    {
        do throws(SQLiteError) {
            // One read transaction: the chain, the events and the indexes are read from the same snapshot.
            return try db.readTransaction { () throws(SQLiteError) in
                var result = try AuditVerifier(db: db, progressEvery: max(1, progressEvery), progress: progress).run()
                guard result.intact else { return result }
                for table in Self.checkedTables {
                    let problems = try StoreIntegrity.rows("PRAGMA integrity_check(\(table))", db).filter { $0 != "ok" }
                    if !problems.isEmpty {
                        let shown = problems.prefix(5).joined(separator: "; ")
                        result.problem = .init(
                            entry: 0, kind: .damaged,
                            message: "the store is damaged: SQLite integrity_check(\(table)) reported: \(shown)")
                        break
                    }
                }
                return result
            }
        } catch  where error.code ~= .corrupt || error.code ~= .notADatabase {
            let problem = AuditVerification.Problem(
                entry: 0, kind: .damaged,
                message:
                    "the store is damaged: SQLite stopped reading it: \(error.message) [code \(error.code.rawValue)]")
            return AuditVerification(
                entries: 0, headID: 0, headHash: String(repeating: "0", count: 64), problem: problem)
        } catch {
            throw GenealogyStoreError(.queryFailed, "cannot read the audit trail", underlying: error)
        }
    }
}
