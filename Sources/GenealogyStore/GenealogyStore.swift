import Foundation
import GenealogySchema
public import Logging
public import SQLite

/// The durable lot/serial genealogy: one writer thread that commits submitted events in batches
/// (group commit), a checkpointer thread that copies the WAL back into the database, and
/// read-only connections for queries.
///
/// Thread use: `submit` never blocks and may be called from any thread (event loops included);
/// completions run on the store's completion thread (see `submit`). `read` and the queries run
/// SQLite on the caller's thread, so keep them off event loops and the Swift cooperative pool.
/// `close` blocks until the writer has drained its queue (called from a completion it only stops
/// accepting).
public final class GenealogyStore: Sendable {
    /// The database file inside the store's directory.
    public static let fileName = "genealogy.sqlite"

    /// The path of the database file.
    public let path: String
    let inbox: WriterInbox
    /// The audit chain's head; used only on the writer thread (see `AuditChain`).
    let audit: AuditChain
    /// Exceptions raised or changed, told after their commit (see `watchExceptions`).
    let exceptionFeed: ExceptionFeed
    private let readers: ReaderPool
    /// The server's checkpointer; nil when a command-line tool opened the store (`openForTool`).
    private let checkpointer: WALCheckpointer?
    /// Whether the store takes writes: the writer's last commit, integrity checks. In memory only.
    public let condition: StoreCondition
    /// Syncs the log before the acks (`synchronous` full on the server); nil otherwise.
    let syncer: CommitSyncer?
    private let logger: Logger

    init(
        path: String, inbox: WriterInbox, audit: AuditChain, exceptionFeed: ExceptionFeed, readers: ReaderPool,
        checkpointer: WALCheckpointer?, condition: StoreCondition, syncer: CommitSyncer? = nil, logger: Logger
    ) {
        self.syncer = syncer
        self.exceptionFeed = exceptionFeed
        self.condition = condition
        self.path = path
        self.inbox = inbox
        self.audit = audit
        self.readers = readers
        self.checkpointer = checkpointer
        self.logger = logger
    }

    /// Closes the store if nobody did (see `close`).
    deinit { close() }

    /// Opens (or creates) the store in `directory` as its owner, the server (or `mesgate load`):
    /// creates the directory and `genealogy.sqlite`, switches to WAL, checks the file is a mesgate
    /// store no newer than this build, migrates it, and starts the writer and checkpointer threads.
    /// The owner holds the folder's `DataFolderLock`; other commands use `openForTool`. Runs
    /// SQLite on the calling thread.
    public static func open(directory: String, options: StoreOptions = StoreOptions(), logger: Logger)
        throws(GenealogyStoreError) -> GenealogyStore
    {
        let path = (directory as NSString).appendingPathComponent(fileName)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw GenealogyStoreError(.directoryNotWritable, "cannot create the store directory \(directory)")
        }
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw GenealogyStoreError(.directoryNotWritable, "the store directory \(directory) is not writable")
        }
        // With `synchronous` full the commits are synced by `CommitSyncer`, after COMMIT and before
        // any ack, while the writer goes on; a commit's log frames go out in a few large writes
        // (`WALBuffer`).
        let buffered = options.synchronous == .full && WALBuffer.vfs != nil
        let db: SQLiteConnection
        do throws(SQLiteError) {
            db = try SQLiteConnection(path: path, mode: .readWriteCreate, vfs: buffered ? WALBuffer.vfs : nil)
        } catch {
            let code: GenealogyStoreError.Code = error.code ~= .cannotOpen ? .directoryNotWritable : .openFailed
            throw GenealogyStoreError(code, "cannot open \(path)", underlying: error)
        }
        let migrator = SchemaMigrator(
            db: db, migrations: Migrations.all, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
        let version = try migrator.check()
        do throws(SQLiteError) {
            try db.enableWAL()
            // The syncer syncs the commits: SQLite itself syncs the log only where its recovery
            // needs it, with NORMAL, or with the buffered log's settings, which leave the commits'
            // syncs to the syncer too.
            try configureWriter(db, synchronous: options.synchronous == .full ? .normal : options.synchronous)
            if buffered { try db.configureForWALBuffer() }
            // When the log starts over (see WALCheckpointer), a file longer than the longest log
            // under load is cut back.
            try db.execute("PRAGMA journal_size_limit = \(options.walFileLimit)")
        } catch {
            throw GenealogyStoreError(.openFailed, "cannot configure \(path)", underlying: error)
        }
        try migrator.migrate(from: version)
        let wal = WALFile(databasePath: path)
        wal.forgetFailure()
        if options.synchronous == .full {
            // The migrations committed without a sync (NORMAL): on the disk before anyone is told.
            do throws(WALSyncError) {
                try wal.sync()
            } catch {
                throw GenealogyStoreError(.openFailed, "cannot sync the write-ahead log of \(path): \(error)")
            }
        }
        let audit: AuditChain
        do throws(SQLiteError) {
            audit = try AuditChain(db: db)
        } catch {
            throw GenealogyStoreError(.openFailed, "cannot read the audit trail of \(path)", underlying: error)
        }

        // Whatever records events or holds on this connection appends to the chain (see `AuditChain.on`).
        let exceptionFeed = ExceptionFeed()
        let mirrors = WriterMirrors(audit: audit, exceptions: exceptionFeed)
        db.attachment = mirrors
        let inbox = WriterInbox(capacity: options.queueCapacity)
        let checkpointer = WALCheckpointer(
            path: path, inbox: inbox, restartFrames: options.walRestartFrames, logger: logger)
        checkpointer.watch(db)
        let condition = StoreCondition()
        let writer = IngestWriter(
            db: db, inbox: inbox, mirrors: mirrors, maxBatchEvents: options.maxBatchEvents,
            maxBatchBytes: options.maxBatchBytes, logger: logger)
        writer.holdOnQualityFail = options.holdOnQualityFail
        writer.sameEvent = options.sameEvent
        writer.masterData = options.masterData
        writer.watchCommits(condition, probeEvery: options.commitProbeInterval)
        if options.synchronous == .full {
            writer.syncer = CommitSyncer(
                wal: wal, limit: options.maxBatchEvents, inbox: inbox, exceptions: exceptionFeed,
                condition: condition, logger: logger, sync: options.walSync)
        }
        writer.start()
        checkpointer.start()
        logger.info(
            "store.opened",
            metadata: [
                "path": "\(path)", "schema_version": "\(Migrations.latestVersion)",
                "synchronous": "\(options.synchronous.rawValue)",
            ])
        return GenealogyStore(
            path: path, inbox: inbox, audit: audit, exceptionFeed: exceptionFeed,
            readers: ReaderPool(path: path, idle: options.readerCount, limit: options.maxReaders),
            checkpointer: checkpointer, condition: condition, syncer: writer.syncer, logger: logger)
    }

    /// The settings of a write connection (the server's or a tool's).
    static func configureWriter(_ db: SQLiteConnection, synchronous: StoreOptions.Synchronous)
        throws(SQLiteError)
    {
        try db.setSynchronous(synchronous.connectionLevel)
        try db.execute("PRAGMA foreign_keys = ON")
        // 64 MiB of page cache, so a batch's pages stay in memory until COMMIT instead of
        // spilling to the WAL and being written again.
        try db.execute("PRAGMA cache_size = -65536")
        // Savepoint (statement) journals in memory: one savepoint per event would otherwise
        // write every page it touches to a temporary file.
        try db.execute("PRAGMA temp_store = MEMORY")
        // No checkpoint inside a commit: the server's WALCheckpointer does them on its own thread.
        try db.execute("PRAGMA wal_autocheckpoint = 0")
    }

    /// Queues one event for the writer. Never blocks. On `.queued`, `completion` runs exactly once,
    /// after the batch commits and the write-ahead log is synced (or the batch fails), in
    /// submission order, on the thread that completes submissions: `CommitSyncer`'s with
    /// `synchronous` full, the writer's otherwise. On `.full` or `.closed` it never runs. Keep
    /// completions short (hop to your event loop): later acks wait for them.
    public func submit(_ request: IngestRequest, completion: @escaping @Sendable (IngestOutcome) -> Void)
        -> SubmitResult
    {
        let offer = inbox.queue.withLock { $0.offer(Submission(request: request, completion: completion)) }
        switch offer {
        case .queued(let wakeWriter):
            if wakeWriter { inbox.wakeup.signal() }
            return .queued
        case .full: return .full
        case .closed: return .closed
        }
    }

    /// Stops accepting, lets the writer commit everything queued and complete every completion,
    /// checkpoints the WAL (TRUNCATE) and waits for the writer thread to end. Idempotent; blocks.
    ///
    /// Called from a completion (on the store's own threads) it cannot wait for them: it only
    /// stops accepting, and the writer drains and stops after the current batch.
    public func close() {
        let wakeWriter = inbox.queue.withLock { $0.beginClosing() }
        if wakeWriter { inbox.wakeup.signal() }
        readers.close()
        // Before the writer's final TRUNCATE checkpoint, which a running PASSIVE one would make busy.
        checkpointer?.stop()
        if inbox.isStoreThread {
            logger.warning("store.close.from_store_thread")
            return
        }
        inbox.finished.wait()
    }

    /// Runs `body` on a read-only pooled connection, on the calling thread. Throws
    /// `GenealogyStoreError.closed` after `close()`, `.busy` when `StoreOptions.maxReaders` are
    /// in use already, or what `body` throws.
    public func read<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try readers.withReader(body)
    }

    /// Events waiting for the writer.
    public var queueDepth: Int { inbox.queue.withLock { $0.count } }

    /// Transactions the writer has committed; fewer than events when group commit batches.
    public var committedBatchCount: Int { inbox.committedBatches.load(ordering: .relaxed) }
}

extension StoreOptions.Synchronous {
    var connectionLevel: SQLiteConnection.Synchronous {
        switch self {
        case .full: .full
        case .normal: .normal
        case .off: .off
        }
    }
}
