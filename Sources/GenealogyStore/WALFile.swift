import Synchronization

#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif

/// The store's write-ahead log (`genealogy.sqlite-wal`) as a file to sync to the disk.
///
/// The write connection commits without syncing (`WALBuffer`'s settings, or `synchronous =
/// NORMAL`), and `CommitSyncer` syncs the log through this file before anyone is told of the
/// commit. Whoever tells the world outside the store of what it read (the Odoo poster,
/// replication) syncs it the same way first: everything a read saw is in the log before that read
/// began, so one sync after the read makes it durable (`OutboxStore.due`, `ReplicationLog.entries`).
///
/// A failed sync is remembered for the log, in the whole process (`markFailed`): Linux reports a
/// write-back error once to each open file, so a later sync through this or another descriptor
/// could succeed although what was written before it is lost. Every sync of that log then fails
/// until the store is opened again (`forgetFailure`).
///
/// The file stays open until this is released: SQLite's unix VFS takes no lock on the log (its
/// locks are on the database and the `-shm` file), so this descriptor takes none of SQLite's with
/// it when it closes. SQLite truncates the log while the store is open, and removes it only when
/// the last connection closes.
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
        if let failure = Self.failures.withLock({ $0[path] }) { throw failure }
        let fd = try descriptor.withLock { fd throws(WALSyncError) -> Int32 in
            if fd < 0 {
                fd = open(path, O_RDONLY | O_CLOEXEC)
                if fd < 0 && errno != ENOENT { throw WALSyncError(operation: "open", path: path, errno: errno) }
            }
            return fd
        }
        guard fd >= 0 else { return }
        while fdatasync(fd) != 0 {
            guard errno == EINTR else {
                let failure = WALSyncError(operation: "fdatasync", path: path, errno: errno)
                markFailed(failure)
                throw failure
            }
        }
    }

    /// The logs whose sync failed in this process, by path, with the first failure.
    private static let failures = Mutex<[String: WALSyncError]>([:])

    /// Every later sync of this log fails with `failure` (`CommitSyncer` marks its own sync's failure).
    func markFailed(_ failure: WALSyncError) {
        Self.failures.withLock { failures in
            if failures[path] == nil { failures[path] = failure }
        }
    }

    /// Called when the store is opened: the log is synced afresh from here on.
    func forgetFailure() {
        _ = Self.failures.withLock { $0.removeValue(forKey: path) }
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
struct WALSyncError: Error, Sendable, CustomStringConvertible {
    let operation: String
    let path: String
    let errno: Int32

    var description: String { "\(operation) of \(path) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
}
