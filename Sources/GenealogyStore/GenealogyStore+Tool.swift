import Foundation
import GenealogySchema
public import Logging
import SQLite

/// How a command other than `serve` uses a store that a server may be running on.
public enum ToolAccess: Sendable, Hashable {
    /// Queries only: read-only connections, no writer thread.
    case read
    /// Queries and short writes through a writer thread of its own (an audit entry, an import),
    /// committed beside the server's on the same audit chain.
    case write
}

extension GenealogyStore {
    /// Opens the existing store in `directory` for a command-line tool, leaving the server's
    /// business to the server: no migration (a store of another schema version is refused with
    /// `.olderSchema`, which says to run `mesgate serve` once, or `.newerSchema`), no checkpointer
    /// thread and no checkpoint at close, no folder lock. With `.read` nothing of the file
    /// changes; `.write` starts a writer thread whose commits are ordinary WAL transactions.
    public static func openForTool(directory: String, access: ToolAccess, logger: Logger)
        throws(GenealogyStoreError) -> GenealogyStore
    {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: path) else {
            throw GenealogyStoreError(.openFailed, "no store in \(directory)")
        }
        let db: SQLiteConnection
        do throws(SQLiteError) {
            db = try SQLiteConnection(path: path, mode: access == .read ? .readOnly : .readWrite)
        } catch {
            throw GenealogyStoreError(.openFailed, "cannot open \(path)", underlying: error)
        }
        let version = try SchemaMigrator(db: db, migrations: Migrations.all, nowMs: 0).check()
        guard version == Migrations.latestVersion else {
            throw GenealogyStoreError(
                .olderSchema,
                "\(path) has schema version \(version), older than this build's \(Migrations.latestVersion): "
                    + "run mesgate serve on it once (it migrates the store), or use the mesgate that wrote it")
        }
        let audit: AuditChain
        do throws(SQLiteError) {
            audit = try AuditChain(db: db)
        } catch {
            throw GenealogyStoreError(.openFailed, "cannot read the audit trail of \(path)", underlying: error)
        }
        let exceptionFeed = ExceptionFeed()
        let options = StoreOptions()
        let inbox = WriterInbox(capacity: options.queueCapacity)
        switch access {
        case .read:
            // Nothing to write: every submission answers `.closed`; `close` has no writer to wait for.
            inbox.queue.withLock { $0.markClosed() }
        case .write:
            do throws(SQLiteError) {
                try configureWriter(db, synchronous: .full)
            } catch {
                throw GenealogyStoreError(.openFailed, "cannot configure \(path)", underlying: error)
            }
            let mirrors = WriterMirrors(audit: audit, exceptions: exceptionFeed)
            db.attachment = mirrors
            let writer = IngestWriter(
                db: db, inbox: inbox, mirrors: mirrors,
                maxBatchEvents: options.maxBatchEvents,
                maxBatchBytes: options.maxBatchBytes, logger: logger)
            // The server checkpoints; a tool's last commit stays in the WAL for it.
            writer.checkpointsOnClose = false
            writer.start()
        }
        return GenealogyStore(
            path: path, inbox: inbox, audit: audit, exceptionFeed: exceptionFeed,
            readers: ReaderPool(path: path, idle: 1, limit: options.maxReaders), checkpointer: nil,
            condition: StoreCondition(), logger: logger)
    }
}
