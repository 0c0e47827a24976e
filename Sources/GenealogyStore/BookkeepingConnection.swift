import SQLite

extension SQLiteConnection {
    /// A write connection beside the ingest writer's (the outbox's, the master data's, the work
    /// orders', the books below); each statement waits up to 10 s for the writer.
    ///
    /// It leaves the WAL to the store's checkpointer (`WALCheckpointer`). SQLite's automatic
    /// checkpoint would copy the log on the committing thread whenever the log is over 1,000 pages,
    /// which under ingest is at nearly every commit. That is the checkpointer's work done again on
    /// the poster's or the replicator's thread, I/O that the writer's fsyncs wait behind, and a
    /// pass that can make the writer's copy of the log's tail give up. Without a server, the last
    /// connection to close copies the log, as it always does.
    static func sideWriter(at path: String) throws(SQLiteError) -> SQLiteConnection {
        let db = try SQLiteConnection(path: path, mode: .readWrite, busyTimeoutMs: 10_000)
        try db.execute("PRAGMA wal_autocheckpoint = 0")
        return db
    }

    /// A side writer (see `sideWriter(at:)`) for books that can be derived again if a power cut
    /// loses the last change (the replication cursor, the hub ledger): no fsync per change.
    static func bookkeeping(at path: String, for what: String) throws(GenealogyStoreError) -> SQLiteConnection {
        do throws(SQLiteError) {
            let db = try sideWriter(at: path)
            try db.execute("PRAGMA synchronous = NORMAL")
            return db
        } catch {
            throw GenealogyStoreError(.openFailed, "cannot open \(what) of \(path)", underlying: error)
        }
    }
}

/// `body`'s SQLite failure as a query failure of `what`.
func guardedQuery<T>(_ what: String, _ body: () throws(SQLiteError) -> T) throws(GenealogyStoreError) -> T {
    do { return try body() } catch {
        throw GenealogyStoreError(.queryFailed, "\(what) failed", underlying: error)
    }
}
