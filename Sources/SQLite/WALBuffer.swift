internal import CSQLite
internal import CSQLiteWALBuffer

/// The VFS that writes a commit's frames to the write-ahead log in a few large writes
/// (`Sources/CSQLiteWALBuffer/include/wal_buffer.h`): a connection opened with `vfs: WALBuffer.vfs`
/// writes each commit's log frames with one `pwrite` per 124 KiB instead of two per page, at the
/// commit's sync, and leaves that sync to its owner. Such a connection must run
/// `configureForWALBuffer()`.
public enum WALBuffer {
    /// The VFS's name for `SQLiteConnection(path:mode:busyTimeoutMs:vfs:)`, registered on first use;
    /// nil when SQLite has no "unix" VFS to wrap.
    public static let vfs: String? = {
        SQLiteConnection.configureLibrary  // before the registration initializes SQLite
        return mesgate_wal_buffer_register() == SQLITE_OK ? MESGATE_WAL_BUFFER_VFS : nil
    }()

    /// What the log of a connection's main database went through since it was opened.
    public struct Stats: Sendable, Equatable {
        /// Writes SQLite asked of the log, and writes made to the file.
        public var asked: Int64
        public var made: Int64
        /// Commits whose sync wrote the buffer and was left to the log's owner.
        public var commits: Int64
    }
}

extension SQLiteConnection {
    /// The settings a connection opened with `WALBuffer.vfs` needs: SQLite then syncs the log at
    /// each commit with SQLITE_SYNC_NORMAL (written, not synced: the owner syncs) and wherever its
    /// recovery depends on a sync with SQLITE_SYNC_FULL (made).
    public func configureForWALBuffer() throws(SQLiteError) {
        try setSynchronous(.full)
        try execute("PRAGMA checkpoint_fullfsync = ON")
    }

    /// The buffered log's counts; nil when this connection was not opened with `WALBuffer.vfs`, or
    /// its log is not open yet.
    public var walBufferStats: WALBuffer.Stats? {
        var stats = mesgate_wal_buffer_stats()
        guard mesgate_wal_buffer_stats_of(handle, &stats) == SQLITE_OK else { return nil }
        return WALBuffer.Stats(asked: stats.asked, made: stats.made, commits: stats.commits)
    }
}
