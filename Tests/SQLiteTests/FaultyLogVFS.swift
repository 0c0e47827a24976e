import CSQLite
import CSQLiteWALBuffer
import SQLite
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A VFS over "unix" whose write-ahead logs refuse every write while `failure` is set, as a disk
/// that fills up would, and the buffered log's VFS over it (`bufferedVFS`): so a test can fail the
/// buffer's own write of the log, wherever SQLite asks for it (a read of a spilled page, say),
/// which a real full disk cannot aim at.
enum FaultyLogVFS {
    static let name = "mesgate-test-faulty-log"
    static let bufferedName = "mesgate-test-walbuffer-over-faulty-log"

    /// The result every write of a log gets; SQLITE_OK: writes pass.
    static let failure = Atomic<Int32>(SQLITE_OK)

    /// The unix VFS's methods for an open file, and the same with the failing write.
    nonisolated(unsafe) private static var unixMethods: UnsafePointer<sqlite3_io_methods>?
    nonisolated(unsafe) private static let methods = UnsafeMutablePointer<sqlite3_io_methods>.allocate(capacity: 1)
    private static let methodsLock = Mutex(())

    /// The buffered VFS over this one, registered on first use; nil if SQLite refused either.
    static let bufferedVFS: String? = {
        guard WALBuffer.vfs != nil, let unix = sqlite3_vfs_find("unix") else { return nil }  // configures SQLite first
        let vfs = UnsafeMutablePointer<sqlite3_vfs>.allocate(capacity: 1)
        vfs.pointee = unix.pointee
        vfs.pointee.zName = UnsafePointer(strdup(name))
        vfs.pointee.xOpen = { vfs, path, file, flags, outFlags in
            guard let unix = sqlite3_vfs_find("unix") else { return SQLITE_ERROR }
            let rc = unix.pointee.xOpen(unix, path, file, flags, outFlags)
            guard rc == SQLITE_OK, flags & SQLITE_OPEN_WAL != 0, let file, let real = file.pointee.pMethods else {
                return rc
            }
            file.pointee.pMethods = FaultyLogVFS.methodsFailingWrites(like: real)
            return rc
        }
        guard sqlite3_vfs_register(vfs, 0) == SQLITE_OK,
            mesgate_wal_buffer_register_over(strdup(bufferedName), name) == SQLITE_OK
        else { return nil }
        return bufferedName
    }()

    /// `real` (the unix VFS's methods for a log) with a write that fails while `failure` is set.
    private static func methodsFailingWrites(like real: UnsafePointer<sqlite3_io_methods>)
        -> UnsafePointer<sqlite3_io_methods>
    {
        methodsLock.withLock { _ in
            if unixMethods == nil {
                unixMethods = real
                methods.pointee = real.pointee
                methods.pointee.xWrite = { file, data, amount, offset in
                    let failure = FaultyLogVFS.failure.load(ordering: .relaxed)
                    if failure != SQLITE_OK { return failure }
                    return FaultyLogVFS.unixMethods!.pointee.xWrite(file, data, amount, offset)
                }
            }
            precondition(unixMethods == real, "the unix VFS opened a log with other methods")
            return UnsafePointer(methods)
        }
    }
}
