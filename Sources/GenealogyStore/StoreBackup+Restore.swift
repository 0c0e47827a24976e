import Foundation
import SQLite

extension StoreBackup {
    /// What `restore` did: the copy it put in place, and where the store it replaced went.
    public struct Restored: Sendable, Hashable {
        public var report: StoreCopyReport
        /// The replaced store's file (`genealogy.sqlite.before-restore-<time>`, its -wal and -shm
        /// beside it), nil when the folder had no store.
        public var keptAside: String?
    }

    /// Puts the copy `file` in place as the store of `directory`: takes the folder's lock (so no
    /// server runs on it meanwhile: `.folderInUse` names the one that does), checks the copy
    /// (`check`), moves the store there aside with its -wal and -shm (`.before-restore-<time>`),
    /// copies the file in under a temporary name, switches it to WAL and renames it into place.
    public static func restore(from file: String, into directory: String, at time: Date = Date())
        throws(GenealogyStoreError) -> Restored
    {
        let lock = try DataFolderLock.acquire(directory: directory)
        defer { withExtendedLifetime(lock) {} }
        let report = try check(file)
        let store = (directory as NSString).appendingPathComponent(GenealogyStore.fileName)
        let files = FileManager.default
        var keptAside: String?
        let stamp = Self.stamp(time)
        do {
            if files.fileExists(atPath: store) {
                let aside = "\(store).before-restore-\(stamp)"
                try files.moveItem(atPath: store, toPath: aside)
                keptAside = aside
            }
            // A log left beside the old file belongs to it: it must never be applied to the copy.
            for suffix in ["-wal", "-shm"] where files.fileExists(atPath: store + suffix) {
                try files.moveItem(atPath: store + suffix, toPath: "\(store).before-restore-\(stamp)\(suffix)")
            }
            let incoming = store + ".restoring"
            try? files.removeItem(atPath: incoming)
            try files.copyItem(atPath: file, toPath: incoming)
            try files.moveItem(atPath: incoming, toPath: store)
        } catch {
            throw GenealogyStoreError(.directoryNotWritable, "cannot put the copy in place in \(directory): \(error)")
        }
        do throws(SQLiteError) {
            let db = try SQLiteConnection(path: store, mode: .readWrite)
            try db.enableWAL()
        } catch {
            throw GenealogyStoreError(.openFailed, "cannot switch the restored \(store) to WAL", underlying: error)
        }
        return Restored(report: report, keptAside: keptAside)
    }

    /// `20261203T084512Z`: sorts by time, safe in a file name.
    static func stamp(_ time: Date) -> String {
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "UTC")
        format.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return format.string(from: time)
    }
}
