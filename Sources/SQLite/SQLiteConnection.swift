internal import CSQLite
internal import CSQLitePageCache
import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One SQLite database connection (`sqlite3*`), closed in `deinit`.
///
/// Not `Sendable`: one thread at a time uses it (SQLite is opened with `SQLITE_OPEN_NOMUTEX`, so the
/// owner guarantees exclusive use). Its statements, including the cached ones, are finalized before
/// the handle is closed.
public final class SQLiteConnection {
    /// How to open the file.
    public enum Mode: Sendable, Hashable {
        /// Read and write; create the file if it does not exist.
        case readWriteCreate
        /// Read and write an existing file.
        case readWrite
        /// Read only: every write fails with `.readOnly`.
        case readOnly
    }

    /// `PRAGMA synchronous` in WAL mode: FULL syncs the WAL on every commit (a commit survives power
    /// loss), NORMAL only at checkpoints (a commit survives a crash of the process, not of the machine).
    public enum Synchronous: String, Sendable, Hashable {
        case full = "FULL"
        case normal = "NORMAL"
        case off = "OFF"
    }

    /// Process-wide settings applied once, before anything of this module initializes SQLite (the
    /// first connection, `WALBuffer.vfs`): memory statistics off (they serialize every allocation
    /// on a global mutex), and the page cache whose commits do not walk it whole
    /// (`Sources/CSQLitePageCache`). SQLITE_MISUSE, when SQLite was initialized by someone else
    /// first, leaves the defaults: harmless.
    static let configureLibrary: Void = {
        _ = CSQLite_sqlite3_config_memstatus_off()
        _ = mesgate_page_cache_install()
    }()

    /// Truncations of page caches SQLite asked for at the end of transactions, passed on to its
    /// page cache and skipped as sure to find nothing (`Sources/CSQLitePageCache`), in the process.
    public static var pageCacheTruncations: (passed: Int64, skipped: Int64) {
        var passed: Int64 = 0
        var skipped: Int64 = 0
        mesgate_page_cache_truncations(&passed, &skipped)
        return (passed, skipped)
    }

    /// Owned: closed in `deinit` with `sqlite3_close_v2`. Internal for `SQLiteBackup`.
    let handle: OpaquePointer
    /// The path given to `open`.
    public let path: String
    public let mode: Mode
    private var statementCache: [StatementKey: SQLiteStatement] = [:]
    /// An object the connection's owner attaches for the code that runs on it (the genealogy
    /// store's audit chain on its write connection). SQLite never sees it.
    public var attachment: AnyObject?
    /// The closure `sqlite3_wal_hook` calls back (see `onWALCommit`); kept alive with the handle.
    private var walHook: WALHook?

    /// Opens `path` (":memory:" for a private in-memory database) with extended result codes, through
    /// the VFS named `vfs` (nil: SQLite's default; `WALBuffer.vfs` for the buffered log).
    public init(
        path: String, mode: Mode = .readWriteCreate, busyTimeoutMs: Int32 = 5_000, vfs: String? = nil
    ) throws(SQLiteError) {
        Self.configureLibrary
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch mode {
        case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        }
        var db: OpaquePointer?
        let code = sqlite3_open_v2(path, &db, flags, vfs)
        guard code == SQLITE_OK, let db else {
            // Even on failure SQLite usually allocates a handle that carries the message: free it.
            let error = SQLiteError.last(db, code: code, operation: "open")
            sqlite3_close_v2(db)
            throw error
        }
        self.handle = db
        self.path = path
        self.mode = mode
        sqlite3_extended_result_codes(db, 1)
        // Always SQLITE_OK for a valid handle.
        sqlite3_busy_timeout(db, busyTimeoutMs)
    }

    deinit {
        statementCache.removeAll()  // finalizes the cached statements
        if walHook != nil { sqlite3_wal_hook(handle, nil, nil) }  // its context is freed with self
        // close_v2 defers the close until any statement still alive elsewhere is finalized.
        sqlite3_close_v2(handle)
    }

    private func check(_ code: Int32, _ operation: String, sql: String? = nil) throws(SQLiteError) {
        if code != SQLITE_OK { throw SQLiteError.last(handle, code: code, operation: operation, sql: sql) }
    }

    // MARK: Statements

    /// Prepares one statement; the caller owns it (finalized when released). `persistent` tells
    /// SQLite the statement will be kept and reused (it then avoids its lookaside memory).
    public func prepare(_ sql: String, persistent: Bool = false) throws(SQLiteError) -> SQLiteStatement {
        var stmt: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let code = sqlite3_prepare_v3(handle, sql, -1, flags, &stmt, nil)
        try check(code, "prepare", sql: sql)
        guard let stmt else {
            // SQLite returns OK and no statement for text that is only whitespace or comments.
            throw SQLiteError(code: .misuse, message: "no SQL statement in text", operation: "prepare", sql: sql)
        }
        return SQLiteStatement(handle: stmt, sql: sql)
    }

    /// The statement for `sql`, prepared once per connection and kept until the connection closes.
    /// It is reset before it is returned.
    public func cachedStatement(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let statement = statementCache[StatementKey(sql)] {
            statement.reset()
            return statement
        }
        let statement = try prepare(sql, persistent: true)
        statementCache[StatementKey(sql)] = statement
        return statement
    }

    /// The number of statements in the cache.
    public var cachedStatementCount: Int { statementCache.count }

    /// The rows every cached statement stepped through in full-table scans, together: how a test
    /// sees that a piece of work read a whole table somewhere.
    public var cachedStatementsFullScanSteps: Int { statementCache.values.reduce(0) { $0 + $1.fullScanSteps } }

    /// Runs a script of one or more statements without arguments (schema, PRAGMA, BEGIN/COMMIT).
    public func execute(_ sql: String) throws(SQLiteError) {
        // sqlite3_exec's error message is allocated by SQLite; it is freed here after copying.
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        defer { sqlite3_free(errorMessage) }
        if code != SQLITE_OK {
            var error = SQLiteError.last(handle, code: code, operation: "execute", sql: sql)
            if let errorMessage { error.message = String(cString: errorMessage) }
            throw error
        }
    }

    /// Runs `sql` with `values` through the statement cache; for single statements that return no rows.
    public func run(_ sql: String, _ values: [SQLiteValue] = []) throws(SQLiteError) {
        try cachedStatement(sql).run(values)
    }

    /// Runs `body` in one read transaction: every query in it sees the same snapshot, and the
    /// file's read lock is taken once instead of once per statement (as autocommit does). BEGIN and
    /// COMMIT come from the statement cache, not parsed again per call. The transaction ends
    /// when `body` returns or throws.
    public func readTransaction<T>(_ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        try cachedStatement("BEGIN").run()
        defer { try? cachedStatement("COMMIT").run() }
        return try body()
    }

    /// The first column of the first row of `sql`, or nil when there is no row.
    public func scalar(_ sql: String, _ values: [SQLiteValue] = []) throws(SQLiteError) -> SQLiteValue? {
        try cachedStatement(sql).first(values) { $0.value(at: 0) }
    }

    // MARK: State

    /// The rowid of the last successful INSERT on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes64(handle)) }

    /// Bytes of page cache this connection holds now (`SQLITE_DBSTATUS_CACHE_USED`): it grows
    /// until `PRAGMA cache_size` is reached and then stays there.
    public var cacheUsedBytes: Int {
        var current: Int32 = 0
        var highWater: Int32 = 0
        guard sqlite3_db_status(handle, SQLITE_DBSTATUS_CACHE_USED, &current, &highWater, 0) == SQLITE_OK else {
            return 0
        }
        return Int(current)
    }

    /// Whether a transaction is open (autocommit is off).
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Whether the main database was opened read-only.
    public var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

    // MARK: Configuration

    /// Switches the database to WAL and checks SQLite agreed (it answers with the mode in force;
    /// an in-memory database, for one, stays in "memory").
    public func enableWAL() throws(SQLiteError) {
        let mode = try scalar("PRAGMA journal_mode = WAL")
        guard case .text(let text) = mode, text.lowercased() == "wal" else {
            throw SQLiteError(
                code: .error, message: "journal_mode WAL refused, mode is \(mode.map { "\($0)" } ?? "unknown")",
                operation: "journal_mode")
        }
    }

    /// SQLite's defensive mode (`SQLITE_DBCONFIG_DEFENSIVE`): on, it forbids editing the schema
    /// table directly, which a migration that rewrites a constraint in place does. Some builds of
    /// SQLite turn it on by default. Setting it returns nothing; reading tells what is in force.
    public var isDefensive: Bool {
        get { CSQLite_defensive(handle, -1) == 1 }
    }

    /// Turns defensive mode on or off and checks SQLite agreed.
    public func setDefensive(_ on: Bool) throws(SQLiteError) {
        guard CSQLite_defensive(handle, on ? 1 : 0) == (on ? 1 : 0) else {
            throw SQLiteError(code: .error, message: "SQLITE_DBCONFIG_DEFENSIVE \(on) refused", operation: "db_config")
        }
    }

    /// Sets `PRAGMA synchronous` and checks it took effect.
    public func setSynchronous(_ level: Synchronous) throws(SQLiteError) {
        try execute("PRAGMA synchronous = \(level.rawValue)")
        let expected: Int64 =
            switch level {
            case .off: 0
            case .normal: 1
            case .full: 2
            }
        guard try scalar("PRAGMA synchronous") == .integer(expected) else {
            throw SQLiteError(code: .error, message: "synchronous \(level.rawValue) refused", operation: "synchronous")
        }
    }

    /// The modes of `PRAGMA wal_checkpoint`.
    public enum CheckpointMode: String, Sendable {
        case passive = "PASSIVE"
        case full = "FULL"
        case restart = "RESTART"
        /// Like RESTART, then truncates the WAL file to zero bytes.
        case truncate = "TRUNCATE"
    }

    /// Runs `PRAGMA wal_checkpoint(mode)`: whether readers kept it from completing, the WAL's size
    /// in frames, and the frames moved into the database.
    @discardableResult
    public func checkpoint(_ mode: CheckpointMode) throws(SQLiteError) -> (busy: Bool, log: Int, checkpointed: Int) {
        let statement = try prepare("PRAGMA wal_checkpoint(\(mode.rawValue))")
        let row = try statement.first { ($0.int(at: 0) != 0, $0.int(at: 1), $0.int(at: 2)) }
        return row ?? (false, 0, 0)
    }

    /// Calls `body` on this connection's thread after each of its commits in WAL mode, with the
    /// frames now in the log (`sqlite3_wal_hook`). Replaces SQLite's automatic checkpoint, which
    /// is the default hook: set `PRAGMA wal_autocheckpoint` before, as that pragma resets the hook.
    public func onWALCommit(_ body: @escaping (Int) -> Void) {
        let hook = WALHook(body)
        walHook = hook
        // Always returns the previous hook's context; SQLITE_OK from the callback means no error.
        sqlite3_wal_hook(
            handle,
            { context, _, _, frames in
                guard let context else { return SQLITE_OK }
                Unmanaged<WALHook>.fromOpaque(context).takeUnretainedValue().body(Int(frames))
                return SQLITE_OK
            }, Unmanaged.passUnretained(hook).toOpaque())
    }

    /// Runs `body` and interrupts whatever SQLite is doing on this connection once `limit` has
    /// passed (`sqlite3_interrupt`, which may be called from any thread), and every 5 ms after
    /// that until `body` returns (an interrupt that comes between two statements is lost): the
    /// statement running then fails with `.interrupt`. For checks that read the whole file and
    /// must stay bounded.
    public func withTimeLimit<T>(_ limit: Duration, _ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        let interrupter = Interrupter(handle: handle)
        let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
        Self.interrupt(interrupter, at: .now() + seconds)
        defer { interrupter.deactivate() }
        return try body()
    }

    private static func interrupt(_ interrupter: Interrupter, at deadline: DispatchTime) {
        DispatchQueue.global(qos: .userInteractive).asyncAfter(deadline: deadline) {
            if interrupter.interrupt() { interrupt(interrupter, at: .now() + .milliseconds(5)) }
        }
    }

    /// The SQLite library version, like "3.40.1".
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}

/// A connection is confined to one thread at a time; hand it over only through a type that says how.
@available(*, unavailable)
extension SQLiteConnection: Sendable {}

/// The handle, for `sqlite3_interrupt` only, which SQLite documents as safe to call from any
/// thread while the connection is open. `@unchecked Sendable`: the handle is used only under the
/// lock and only while `active`; `withTimeLimit` clears `active` before it returns, so a timer
/// that fires late never touches a closed connection (and schedules no more).
private final class Interrupter: @unchecked Sendable {
    private let handle: OpaquePointer
    private let active = Mutex(true)
    init(handle: OpaquePointer) { self.handle = handle }
    /// Interrupts the connection while `withTimeLimit` runs; returns whether it still does.
    func interrupt() -> Bool {
        active.withLock { active in
            if active { sqlite3_interrupt(handle) }
            return active
        }
    }
    func deactivate() { active.withLock { $0 = false } }
}

/// What `sqlite3_wal_hook` gets as its context: the connection owns it and outlives the handle's use.
private final class WALHook {
    let body: (Int) -> Void
    init(_ body: @escaping (Int) -> Void) { self.body = body }
}

/// The statement cache's key: the SQL text, hashed by its length and a few of its bytes instead of
/// all of them. A writer looks a statement up for every row it writes, and hashing the whole text
/// (a few hundred bytes, SipHash) and comparing it as Unicode were about 3 % of the ingest
/// writer's time (`perf`, plant mix); two texts that hash alike are still told apart by `==`.
struct StatementKey: Hashable {
    let sql: String

    init(_ sql: String) { self.sql = sql }

    /// Byte for byte (as the hash reads it), not by Unicode equivalence as `String`'s `==`.
    static func == (a: StatementKey, b: StatementKey) -> Bool { a.sql.hasSameUTF8(as: b.sql) }

    func hash(into hasher: inout Hasher) {
        let utf8 = sql.utf8
        hasher.combine(utf8.count)
        let sampled: Void? = utf8.withContiguousStorageIfAvailable { bytes in
            // Eight bytes at each of five places: the start, the quarters, the end.
            guard bytes.count >= 8 else {
                for byte in bytes { hasher.combine(byte) }
                return
            }
            let raw = UnsafeRawBufferPointer(bytes)
            for place in 0...4 {
                hasher.combine(raw.loadUnaligned(fromByteOffset: (bytes.count - 8) * place / 4, as: UInt64.self))
            }
        }
        if sampled == nil { hasher.combine(sql) }
    }
}

extension String {
    /// Whether both hold the same UTF-8 bytes: a `memcmp` of the two buffers for native strings
    /// (`utf8.elementsEqual` steps through them a byte at a time, and `==` compares by Unicode
    /// equivalence). For keys that hash their bytes (`StatementKey`, the genealogy store's node cache).
    public func hasSameUTF8(as other: String) -> Bool {
        let (x, y) = (utf8, other.utf8)
        guard x.count == y.count else { return false }
        let same = x.withContiguousStorageIfAvailable { xs in
            y.withContiguousStorageIfAvailable { ys in
                xs.isEmpty || memcmp(xs.baseAddress!, ys.baseAddress!, xs.count) == 0
            }
        }
        return (same ?? nil) ?? x.elementsEqual(y)
    }
}
