import CSQLite
import Foundation
import SQLite
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The buffered log (`WALBuffer`): a commit's frames reach the log in a few large writes, at the
/// commit's sync, byte for byte what SQLite would have written itself.
@Suite struct WALBufferTests {
    /// A writer through the buffered VFS with the settings it needs, and a table `t (i, b)`.
    static func writer(_ directory: TemporaryDirectory) throws -> SQLiteConnection {
        try writer(at: directory.file("w.sqlite"), vfs: WALBuffer.vfs)
    }

    /// The same at `path`, through `vfs` (a buffered VFS: `WALBuffer.vfs`, or `FaultyLogVFS`'s).
    static func writer(at path: String, vfs: String?) throws -> SQLiteConnection {
        let vfs: String = try #require(vfs)
        let db = try SQLiteConnection(path: path, vfs: vfs)
        try db.enableWAL()
        try db.configureForWALBuffer()
        try db.execute("PRAGMA wal_autocheckpoint = 0")
        try db.execute("CREATE TABLE t (i INTEGER PRIMARY KEY, b BLOB NOT NULL)")
        return db
    }

    /// Row `i`'s blob: 3,000 bytes of its own, so each row fills most of a page.
    static func blob(_ i: Int) -> [UInt8] { (0..<3_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i &* 7) } }

    /// Inserts rows `range` in one transaction.
    static func insert(_ range: Range<Int>, into db: SQLiteConnection) throws {
        try db.execute("BEGIN IMMEDIATE")
        for i in range { try db.run("INSERT INTO t (i, b) VALUES (?1, ?2)", [.int(i), .blob(blob(i))]) }
        try db.execute("COMMIT")
    }

    /// Fails unless `db` holds exactly rows `range`, each with its own blob.
    static func expectRows(
        _ range: Range<Int>, in db: SQLiteConnection, sourceLocation: SourceLocation = #_sourceLocation
    )
        throws
    {
        var seen: [Int] = []
        try db.cachedStatement("SELECT i, b FROM t ORDER BY i").query { row in
            seen.append(row.int(at: 0))
            #expect(row.blob(at: 1) == blob(row.int(at: 0)), sourceLocation: sourceLocation)
        }
        #expect(seen == Array(range), sourceLocation: sourceLocation)
    }

    /// Inserts rows `range` in one transaction, as `insert`; what the log went through meanwhile.
    static func insertCounting(_ range: Range<Int>, into db: SQLiteConnection) throws -> (
        asked: Int64, made: Int64, commits: Int64
    ) {
        let before = try #require(db.walBufferStats)
        try insert(range, into: db)
        let after = try #require(db.walBufferStats)
        return (after.asked - before.asked, after.made - before.made, after.commits - before.commits)
    }

    @Test func aCommitsFramesGoToTheLogInAFewWritesAndAReaderSeesThemAtOnce() throws {
        let directory = try TemporaryDirectory()
        let db = try Self.writer(directory)
        let reader = try SQLiteConnection(path: directory.file("w.sqlite"), mode: .readOnly)
        try Self.insert(0..<10, into: db)
        let commit = try Self.insertCounting(10..<110, into: db)
        // 100 rows of 3,000 bytes: at least 100 pages, each asked as two writes (header, page).
        #expect(commit.asked >= 200)
        #expect(commit.made <= 4)  // about 412 KB, in writes of 124 KiB
        #expect(commit.commits == 1)
        try Self.expectRows(0..<110, in: reader)
    }

    /// A commit larger than the buffer (1 MiB) goes out in several writes, all before it is visible.
    @Test func aCommitLargerThanTheBufferIsWrittenWhole() throws {
        let directory = try TemporaryDirectory()
        let db = try Self.writer(directory)
        let reader = try SQLiteConnection(path: directory.file("w.sqlite"), mode: .readOnly)
        try Self.insert(0..<1, into: db)
        let commit = try Self.insertCounting(1..<2_001, into: db)
        #expect(commit.made >= 60)  // about 8 MB of frames, in writes of 124 KiB
        #expect(commit.made < commit.asked / 20)
        try Self.expectRows(0..<2_001, in: reader)
    }

    /// What the buffered writer left in the log is a log SQLite recovers from: a copy of the files
    /// taken while the writer is open (as a crash would leave them) opens with every committed row,
    /// also after the log started over from its beginning.
    @Test func theLogOnTheDiskRecoversEveryCommit() throws {
        let directory = try TemporaryDirectory()
        let db = try Self.writer(directory)
        for start in stride(from: 0, to: 300, by: 30) { try Self.insert(start..<start + 30, into: db) }
        // Copy it all to the database, then write from the log's start again (over older frames).
        _ = try db.checkpoint(.passive)
        for start in stride(from: 300, to: 400, by: 20) { try Self.insert(start..<start + 20, into: db) }

        let copy = try TemporaryDirectory()
        for suffix in ["", "-wal"] {
            try FileManager.default.copyItem(
                atPath: directory.file("w.sqlite") + suffix, toPath: copy.file("w.sqlite") + suffix)
        }
        let recovered = try SQLiteConnection(path: copy.file("w.sqlite"))
        try Self.expectRows(0..<400, in: recovered)
        #expect(try recovered.scalar("PRAGMA integrity_check") == .text("ok"))
    }

    /// A transaction that spilled pages to the log (about 200 frames) and rolled back, then a commit
    /// of another connection (default VFS) at the same place in the log, then one of the buffered
    /// writer after it: every committed row reads back, live and from a copy of the files. (SQLite
    /// 3.40's rollback reads the log, which writes the spilled frames while the write lock is still
    /// held; what would be left when the lock is given up is dropped, see `bufferedShmLock`.)
    @Test func framesOfARolledBackTransactionNeverOverwriteAnothersCommit() throws {
        let directory = try TemporaryDirectory()
        let db = try Self.writer(directory)
        try db.execute("PRAGMA cache_size = 20")  // pages: a large transaction spills to the log
        try Self.insert(0..<10, into: db)
        try db.execute("BEGIN IMMEDIATE")
        for i in 1_000..<1_200 { try db.run("INSERT INTO t (i, b) VALUES (?1, ?2)", [.int(i), .blob(Self.blob(i))]) }
        try db.execute("ROLLBACK")

        let other = try SQLiteConnection(path: directory.file("w.sqlite"))
        try other.execute("PRAGMA wal_autocheckpoint = 0")
        try Self.insert(10..<60, into: other)
        try Self.insert(60..<70, into: db)

        let reader = try SQLiteConnection(path: directory.file("w.sqlite"), mode: .readOnly)
        try Self.expectRows(0..<70, in: reader)
        #expect(try reader.scalar("PRAGMA integrity_check") == .text("ok"))
        let copy = try TemporaryDirectory()
        for suffix in ["", "-wal"] {
            try FileManager.default.copyItem(
                atPath: directory.file("w.sqlite") + suffix, toPath: copy.file("w.sqlite") + suffix)
        }
        try Self.expectRows(0..<70, in: try SQLiteConnection(path: copy.file("w.sqlite")))
    }

    /// The disk fills while a transaction spills pages to the log: the frames the buffer could not
    /// write are lost, so the transaction must not commit. Every later call on the log fails until
    /// the write lock is given up; what was committed before stays intact, and once there is space
    /// the writer commits again. Needs root (a 4 MiB tmpfs), as the end-to-end disk-full test.
    /// (Here SQLite meets the full disk at a write of its own and rolls back by itself; the test
    /// below fails the buffer's write where SQLite would not.)
    @Test func aFailedWriteOfTheBufferKeepsItsTransactionFromCommitting() throws {
        let directory = try TemporaryDirectory()
        let disk = directory.file("disk")
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        guard geteuid() == 0, Self.run("/bin/mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", disk) == 0 else {
            return  // not root, or no tmpfs here: nothing to fill
        }
        defer { _ = Self.run("/bin/umount", "-l", disk) }
        let path = (disk as NSString).appendingPathComponent("w.sqlite")
        let db = try Self.writer(at: path, vfs: WALBuffer.vfs)
        try db.execute("PRAGMA cache_size = 20")  // pages: the transaction below spills
        try Self.insert(0..<10, into: db)
        let filler = (disk as NSString).appendingPathComponent("filler")
        Self.fill(filler)

        try db.execute("BEGIN IMMEDIATE")
        var failures = 0
        for i in 1_000..<1_400 where db.isInTransaction {
            do {
                try db.run("INSERT INTO t (i, b) VALUES (?1, ?2)", [.int(i), .blob(Self.blob(i))])
            } catch {
                failures += 1  // as the store's writer: an event fails, the batch goes on if it can
            }
        }
        #expect(failures > 0, "the disk never filled")
        if db.isInTransaction {
            #expect(throws: SQLiteError.self) { try db.execute("COMMIT") }
            if db.isInTransaction { try db.execute("ROLLBACK") }
        }

        try FileManager.default.removeItem(atPath: filler)
        try Self.insert(10..<20, into: db)
        let reader = try SQLiteConnection(path: path, mode: .readOnly)
        try Self.expectRows(0..<20, in: reader)
        #expect(try reader.scalar("PRAGMA integrity_check") == .text("ok"))
    }

    /// The buffer's write fails where a full disk would never be met by SQLite itself: at a read of
    /// a page the transaction spilled to the log, inside a statement that keeps a statement journal
    /// (a multi-row insert). SQLite rolls back only the statement for SQLITE_FULL, so were that
    /// reported the transaction would go on and commit without the lost frames (a corrupt
    /// database: found by a review with a VFS like `FaultyLogVFS`). It is reported as an I/O
    /// error: the whole transaction rolls back, nothing of it is stored, the database is intact,
    /// and the writer commits again once writes pass.
    @Test func aWriteOfTheBufferFailingAtAReadRollsTheWholeTransactionBack() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("w.sqlite")
        let db = try Self.writer(at: path, vfs: FaultyLogVFS.bufferedVFS)
        try Self.insert(0..<10, into: db)
        try db.execute("PRAGMA cache_size = 20")  // pages: the transaction below spills to the log
        try db.execute("BEGIN IMMEDIATE")
        for i in 1_000..<1_200 { try db.run("INSERT INTO t (i, b) VALUES (?1, ?2)", [.int(i), .blob(Self.blob(i))]) }
        let spilled = try #require(db.walBufferStats)
        #expect(spilled.asked > spilled.made, "the transaction's frames are not in the buffer")

        FaultyLogVFS.failure.store(SQLITE_FULL, ordering: .relaxed)
        #expect(throws: SQLiteError.self) {
            try db.execute("INSERT INTO t (i, b) SELECT i + 100000, b FROM t WHERE i >= 1000")
        }
        FaultyLogVFS.failure.store(SQLITE_OK, ordering: .relaxed)
        #expect(!db.isInTransaction, "the transaction goes on after its frames were lost")
        if db.isInTransaction { try? db.execute("COMMIT") }

        let reader = try SQLiteConnection(path: path, mode: .readOnly)
        #expect(try reader.scalar("PRAGMA integrity_check") == .text("ok"))
        try Self.expectRows(0..<10, in: reader)
        try Self.insert(10..<20, into: db)
        try Self.expectRows(0..<20, in: reader)
        #expect(try reader.scalar("PRAGMA integrity_check") == .text("ok"))
    }

    /// Runs a program; its exit status.
    static func run(_ program: String, _ arguments: String...) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Writes `path` until its disk is full.
    static func fill(_ path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var chunk = 65_536
        let zeros = [UInt8](repeating: 0, count: chunk)
        while chunk > 0 {
            if zeros.withUnsafeBytes({ write(fd, $0.baseAddress, chunk) }) < 0 { chunk /= 2 }
        }
    }

    /// A connection without the settings makes no sync at commit: the frames are written where
    /// SQLite publishes the commit instead, and a reader still sees them at once.
    @Test func withoutItsSettingsTheCommitIsWrittenBeforeItIsVisible() throws {
        let directory = try TemporaryDirectory()
        let vfs = try #require(WALBuffer.vfs)
        let db = try SQLiteConnection(path: directory.file("w.sqlite"), vfs: vfs)
        try db.enableWAL()
        try db.setSynchronous(.normal)
        try db.execute("CREATE TABLE t (i INTEGER PRIMARY KEY, b BLOB NOT NULL)")
        let reader = try SQLiteConnection(path: directory.file("w.sqlite"), mode: .readOnly)
        try Self.insert(0..<10, into: db)
        let commit = try Self.insertCounting(10..<60, into: db)
        #expect(commit.commits == 0)
        #expect(commit.made > 0)
        #expect(commit.asked >= 100)
        try Self.expectRows(0..<60, in: reader)
    }

    @Test func aConnectionOfTheDefaultVFSHasNoBufferedLog() throws {
        let directory = try TemporaryDirectory()
        let db = try SQLiteConnection(path: directory.file("d.sqlite"))
        try db.enableWAL()
        try db.execute("CREATE TABLE t (i INTEGER)")
        #expect(db.walBufferStats == nil)
    }
}
