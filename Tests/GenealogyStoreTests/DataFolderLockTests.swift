import Foundation
import GenealogyStore
import Testing

@Suite struct DataFolderLockTests {
    @Test func aSecondOwnerIsRefusedWithThePIDUntilTheFirstLetsGo() throws {
        let fixture = StoreFixture()
        var first: DataFolderLock? = try DataFolderLock.acquire(directory: fixture.directory)
        let error = #expect(throws: GenealogyStoreError.self) {
            try DataFolderLock.acquire(directory: fixture.directory)
        }
        #expect(error?.code == .folderInUse)
        #expect(error?.message.contains("pid \(ProcessInfo.processInfo.processIdentifier)") == true)
        #expect(first != nil)
        first = nil  // releases it
        _ = try DataFolderLock.acquire(directory: fixture.directory)
    }
}
