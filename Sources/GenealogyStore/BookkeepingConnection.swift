import SQLite

extension SQLiteConnection {
    /// A write connection of its own beside the ingest writer's, for books that can be derived again
    /// if a power cut loses the last change (the replication cursor, the hub ledger): no fsync per
    /// change, and each statement waits up to 10 s for the writer.
    static func bookkeeping(at path: String, for what: String) throws(GenealogyStoreError) -> SQLiteConnection {
        do throws(SQLiteError) {
            let db = try SQLiteConnection(path: path, mode: .readWrite, busyTimeoutMs: 10_000)
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
