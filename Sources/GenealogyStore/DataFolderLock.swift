import Foundation

#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif

/// Keeps a data folder to one owner: `serve` for its lifetime, `restore` and `load` while they
/// write the store. An exclusive `flock` on `mesgate.lock` in the folder, which holds the owner's
/// pid; the kernel drops the lock when the process ends, however it ends, so a stale file never
/// blocks anyone. The commands that read, or make small writes beside a running server (`outbox
/// retry`, `export --data`), do not take it.
///
/// `Sendable`: immutable; the descriptor is closed (and the lock released) in `deinit`.
public final class DataFolderLock: Sendable {
    /// The lock file inside the data folder.
    public static let fileName = "mesgate.lock"

    /// The folder locked.
    public let directory: String
    private let descriptor: Int32

    private init(directory: String, descriptor: Int32) {
        self.directory = directory
        self.descriptor = descriptor
    }

    deinit { _ = close(descriptor) }

    /// Takes the lock on `directory` (created if missing), or throws `.folderInUse` naming the
    /// pid of the process that holds it. Never waits.
    public static func acquire(directory: String) throws(GenealogyStoreError) -> DataFolderLock {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw GenealogyStoreError(.directoryNotWritable, "cannot create the data folder \(directory)")
        }
        let path = (directory as NSString).appendingPathComponent(fileName)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw GenealogyStoreError(
                .directoryNotWritable, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            let holder = failure == EWOULDBLOCK ? holderPID(fd) : nil
            _ = close(fd)
            guard failure == EWOULDBLOCK else {
                throw GenealogyStoreError(
                    .directoryNotWritable, "cannot lock \(path): \(String(cString: strerror(failure)))")
            }
            let who = holder.map { "mesgate pid \($0)" } ?? "another mesgate"
            throw GenealogyStoreError(
                .folderInUse, "the data folder \(directory) is in use by \(who) (its lock is \(path)): stop it first")
        }
        // Ours now: say who holds it. A failed write only makes the next refusal less precise.
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return DataFolderLock(directory: directory, descriptor: fd)
    }

    /// The pid written in the lock file, if it reads as one.
    private static func holderPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
