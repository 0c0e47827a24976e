import Foundation
import SQLite
import Testing

@testable import GenealogyStore

/// The store's other write connections (outbox, master data, work orders, the replication and hub
/// books) leave the WAL to the checkpointer: a commit of theirs never copies the log into the
/// database file on their own thread, however long the log is.
@Suite struct SideWriterTests {
    private func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// A store whose WAL holds more than SQLite's automatic checkpoint threshold (1,000 pages), not
    /// copied yet, with `filler` open on it so no other connection's close is the last one.
    private func storeWithLongLog(_ fixture: StoreFixture) throws -> SQLiteConnection {
        try fixture.open().close()
        let filler = try fixture.rawConnection()
        try filler.execute("PRAGMA wal_autocheckpoint = 0")
        try filler.execute("CREATE TABLE filler (b BLOB)")
        try filler.execute("BEGIN")
        for _ in 0..<1_200 { try filler.run("INSERT INTO filler VALUES (zeroblob(4000))") }
        try filler.execute("COMMIT")
        return filler
    }

    @Test(arguments: ["side writer", "bookkeeping"])
    func aCommitOfASideConnectionLeavesTheLogToTheCheckpointer(_ kind: String) throws {
        let fixture = StoreFixture()
        let filler = try storeWithLongLog(fixture)
        let walBefore = fileSize(fixture.path + "-wal")
        let before = fileSize(fixture.path)
        #expect(walBefore > 1_000 * 4_096, "the log is only \(walBefore) bytes")
        let side =
            kind == "bookkeeping"
            ? try SQLiteConnection.bookkeeping(at: fixture.path, for: "a test")
            : try SQLiteConnection.sideWriter(at: fixture.path)
        try side.run("INSERT INTO filler VALUES (x'01')")
        // SQLite's automatic checkpoint, at this commit, would have copied the 1,200 pages into
        // the database file (about 5 MB).
        #expect(
            fileSize(fixture.path) == before,
            "the database file went from \(before) to \(fileSize(fixture.path)) bytes at a side commit")
        withExtendedLifetime(filler) {}
    }
}
