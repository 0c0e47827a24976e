import Foundation
import GenealogyStore
import MESDomain
import SQLite
import Testing

@Suite struct StoreBackupTests {
    @Test(arguments: StoreBackup.Method.allCases)
    func aCopyTakenWhileTheStoreIsOpenHoldsEveryCommittedEventAndRestores(method: StoreBackup.Method) async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        _ = await store.ingest((1...300).map { IngestTests.received($0) })
        let copy = fixture.directory + "-copy.sqlite"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        var steps = 0
        let report = try StoreBackup.copy(storePath: fixture.path, to: copy, method: method, pagesPerStep: 4) { _, _ in
            steps += 1
        }
        _ = await store.ingest(IngestTests.received(301))  // after the copy: not in it
        store.close()
        #expect(method == .vacuumInto || steps > 1)
        #expect(report.events == 300)
        #expect(report.auditHeadID == report.auditEntries && report.auditEntries >= 1)
        #expect(!FileManager.default.fileExists(atPath: copy + "-wal"))  // a single file

        let target = StoreFixture()
        let restored = try StoreBackup.restore(from: copy, into: target.directory)
        #expect(restored.keptAside == nil && restored.report == report)
        let reopened = try target.open()
        defer { reopened.close() }
        #expect(try reopened.eventCount() == 300)
        try target.expectAuditIntact()
    }

    @Test func restoreIsRefusedWhileTheFolderIsHeldAndKeepsTheStoreItReplaces() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        _ = await store.ingest(IngestTests.received(1))
        store.close()
        let copy = fixture.directory + "-copy.sqlite"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        _ = try StoreBackup.copy(storePath: fixture.path, to: copy)

        do {
            let held = try DataFolderLock.acquire(directory: fixture.directory)
            let error = #expect(throws: GenealogyStoreError.self) {
                try StoreBackup.restore(from: copy, into: fixture.directory)
            }
            #expect(error?.code == .folderInUse)
            withExtendedLifetime(held) {}
        }

        let time = Date(timeIntervalSince1970: 1_764_750_000)
        let restored = try StoreBackup.restore(from: copy, into: fixture.directory, at: time)
        #expect(restored.keptAside == fixture.path + ".before-restore-20251203T082000Z")
        #expect(FileManager.default.fileExists(atPath: fixture.path + ".before-restore-20251203T082000Z"))
    }

    @Test func aDamagedCopyIsRefused() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        _ = await store.ingest((1...20).map { IngestTests.received($0) })
        store.close()
        let copy = fixture.directory + "-copy.sqlite"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        _ = try StoreBackup.copy(storePath: fixture.path, to: copy)
        // An event altered behind the audit trail's back: the copy no longer verifies.
        try SQLiteConnection(path: copy).execute("UPDATE events SET client = 'mallory' WHERE sequence = 3")
        let error = #expect(throws: GenealogyStoreError.self) { try StoreBackup.check(copy) }
        #expect(error?.code == .checkFailed)
        let target = StoreFixture()
        #expect(throws: GenealogyStoreError.self) { try StoreBackup.restore(from: copy, into: target.directory) }
        #expect(!FileManager.default.fileExists(atPath: target.path))
    }
}
