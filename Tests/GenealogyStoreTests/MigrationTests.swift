import Foundation
import GenealogySchema
import GenealogyStore
import SQLite
import Testing

@Suite struct MigrationTests {
    @Test func freshStoreIsMigratedAndInWAL() throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        #expect(try store.count("PRAGMA user_version") == Migrations.latestVersion)
        #expect(try store.count("PRAGMA application_id") == Int(Migrations.applicationID))
        #expect(try store.rows("PRAGMA journal_mode") == [[.text("wal")]])
        #expect(
            try store.rows("SELECT version, name FROM schema_migrations ORDER BY version")
                == Migrations.all.map { [.integer(Int64($0.version)), .text($0.name)] })
        #expect(Migrations.all.first?.name == "initial")
    }

    @Test func reopeningAppliesNothingTwiceAndKeepsData() async throws {
        let fixture = StoreFixture()
        var store = try fixture.open()
        _ = await store.ingest(request("e1", .received(.init(lot: lot("STEEL", "S1"), qty: qty(5)))))
        store.close()
        store.close()  // idempotent
        store = try fixture.open()
        defer { store.close() }
        #expect(try store.count("SELECT count(*) FROM schema_migrations") == Migrations.all.count)
        #expect(try store.eventCount() == 1)
    }

    @Test func foreignFileIsNotAStore() throws {
        let fixture = StoreFixture()
        try FileManager.default.createDirectory(atPath: fixture.directory, withIntermediateDirectories: true)
        try Data("this is not a database, just some bytes that are long enough........".utf8)
            .write(to: URL(fileURLWithPath: fixture.path))
        let error = #expect(throws: GenealogyStoreError.self) { try fixture.open() }
        #expect(error?.code == .notAStore)
    }

    @Test func otherSQLiteDatabaseIsNotAStore() throws {
        let fixture = StoreFixture()
        do {
            let db = try fixture.rawConnection()
            try db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        }
        let error = #expect(throws: GenealogyStoreError.self) { try fixture.open() }
        #expect(error?.code == .notAStore)
    }

    @Test func newerSchemaIsRefused() throws {
        let fixture = StoreFixture()
        try fixture.open().close()
        do {
            let db = try fixture.rawConnection()
            try db.execute("PRAGMA user_version = \(Migrations.latestVersion + 1)")
        }
        let error = #expect(throws: GenealogyStoreError.self) { try fixture.open() }
        #expect(error?.code == .newerSchema)
    }

    @Test func directoryThatCannotBeCreatedIsReported() throws {
        let fixture = StoreFixture()
        try FileManager.default.createDirectory(atPath: fixture.directory, withIntermediateDirectories: true)
        let file = (fixture.directory as NSString).appendingPathComponent("plain-file")
        try Data().write(to: URL(fileURLWithPath: file))
        let error = #expect(throws: GenealogyStoreError.self) {
            try GenealogyStore.open(directory: file + "/store", options: StoreOptions(), logger: StoreFixture.logger)
        }
        #expect(error?.code == .directoryNotWritable)
    }

    @Test func readConnectionsCannotWrite() throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let error = #expect(throws: SQLiteError.self) {
            try store.read { db in try db.execute("DELETE FROM events") }
        }
        #expect(error.map { SQLiteResultCode.readOnly ~= $0.code } == true)
    }

    @Test func readAfterCloseIsRefused() throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        store.close()
        let error = #expect(throws: GenealogyStoreError.self) { try store.eventCount() }
        #expect(error?.code == .closed)
    }
}
