internal import CSQLite

/// An online copy of one connection's database into another's (`sqlite3_backup*`), page by page.
/// Finished in `deinit` if `finish()` was not called.
///
/// Not `Sendable`: the thread that owns both connections drives the copy. The source's copy is
/// consistent when the source holds one read transaction across all the steps (in WAL mode that
/// never blocks a writer); without it, a write by another connection between two steps makes
/// the next step start over.
public final class SQLiteBackup {
    /// Owned: released by `sqlite3_backup_finish` (in `finish` or `deinit`).
    private var handle: OpaquePointer?
    /// Kept alive for as long as the copy: SQLite needs both handles until `finish`.
    private let source: SQLiteConnection
    private let destination: SQLiteConnection

    /// Starts copying `source`'s main database over `destination`'s.
    ///
    /// `sqlite3_backup_init` returns NULL on failure (the destination is in a read transaction, or
    /// both are the same database); the error is on the destination handle.
    public init(from source: SQLiteConnection, to destination: SQLiteConnection) throws(SQLiteError) {
        self.source = source
        self.destination = destination
        guard let handle = sqlite3_backup_init(destination.handle, "main", source.handle, "main") else {
            throw SQLiteError.last(
                destination.handle, code: sqlite3_errcode(destination.handle), operation: "backup_init")
        }
        self.handle = handle
    }

    deinit {
        if let handle { sqlite3_backup_finish(handle) }
    }

    /// Copies up to `pages` more pages (-1: all that remain); true when the copy is complete.
    ///
    /// `sqlite3_backup_step` returns SQLITE_OK (more to copy), SQLITE_DONE (complete),
    /// SQLITE_BUSY or SQLITE_LOCKED (a lock could not be had: the step may be retried), or an
    /// error (SQLITE_NOMEM, SQLITE_READONLY, SQLITE_IOERR_*): all but the first two are thrown.
    public func step(pages: Int32) throws(SQLiteError) -> Bool {
        guard let handle else {
            throw SQLiteError(code: .misuse, message: "the backup is finished", operation: "backup_step")
        }
        let code = sqlite3_backup_step(handle, pages)
        switch code {
        case SQLITE_OK: return false
        case SQLITE_DONE: return true
        default: throw SQLiteError.last(destination.handle, code: code, operation: "backup_step")
        }
    }

    /// Pages still to copy after the last step.
    public var remainingPages: Int { handle.map { Int(sqlite3_backup_remaining($0)) } ?? 0 }

    /// Pages of the source at the last step.
    public var totalPages: Int { handle.map { Int(sqlite3_backup_pagecount($0)) } ?? 0 }

    /// Releases the copy's resources; throws the error of the last step if it failed
    /// (`sqlite3_backup_finish` returns it). Idempotent.
    public func finish() throws(SQLiteError) {
        guard let handle else { return }
        self.handle = nil
        let code = sqlite3_backup_finish(handle)
        if code != SQLITE_OK { throw SQLiteError.last(destination.handle, code: code, operation: "backup_finish") }
    }
}

@available(*, unavailable)
extension SQLiteBackup: Sendable {}
