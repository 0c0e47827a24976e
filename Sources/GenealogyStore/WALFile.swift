import Synchronization

#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif

/// The store's write-ahead log (`genealogy.sqlite-wal`) as a file to sync to the disk.
///
/// The write connection commits without syncing (`synchronous = NORMAL`), and `CommitSyncer`
/// syncs the log through this file before anyone is told of the commit. Whoever tells the world
/// outside the store of what it read (the Odoo poster, replication) syncs it the same way first:
/// everything a read saw is in the log before that read began, so one sync after the read makes
/// it durable (`OutboxStore.due`, `ReplicationLog.entries`).
///
/// The file stays open until this is released: SQLite locks the database and its `-shm` file,
/// never the log, so this descriptor takes no lock of SQLite's with it when it closes. SQLite
/// keeps the log's inode while the store is open (it truncates the file, never removes it).
final class WALFile: Sendable {
    let path: String
    /// The open descriptor, -1 until the first sync finds the file.
    private let descriptor = Mutex<Int32>(-1)

    /// The log of the database at `databasePath`.
    init(databasePath: String) {
        path = databasePath + "-wal"
    }

    deinit {
        let fd = descriptor.withLock { $0 }
        if fd >= 0 { close(fd) }
    }

    /// Syncs what was written to the log (`fdatasync`). Without a log there is nothing to sync: no
    /// transaction has been written to it since the store was opened.
    func sync() throws(WALSyncError) {
        let fd = try descriptor.withLock { fd throws(WALSyncError) -> Int32 in
            if fd < 0 {
                fd = open(path, O_RDONLY | O_CLOEXEC)
                if fd < 0 && errno != ENOENT { throw WALSyncError(operation: "open", path: path, errno: errno) }
            }
            return fd
        }
        guard fd >= 0 else { return }
        while fdatasync(fd) != 0 {
            guard errno == EINTR else { throw WALSyncError(operation: "fdatasync", path: path, errno: errno) }
        }
    }
}

extension WALFile {
    /// `sync` for a reader about to tell others what it read: a failure is the read's.
    func syncBeforeTelling() throws(GenealogyStoreError) {
        do throws(WALSyncError) {
            try sync()
        } catch {
            throw GenealogyStoreError(
                .queryFailed, "what was read could not be made durable first: \(error)")
        }
    }
}

/// The log could not be synced: what was committed since the last sync may not be on the disk.
struct WALSyncError: Error, CustomStringConvertible {
    let operation: String
    let path: String
    let errno: Int32

    var description: String { "\(operation) of \(path) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
}
