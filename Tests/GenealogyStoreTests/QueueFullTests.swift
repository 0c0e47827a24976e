import Dispatch
import Foundation
import GenealogyStore
import MESDomain
import Testing

/// A full writer queue is `.queueFull` (retry soon), not `.closed` (going away), for every kind
/// of submission; a pool of readers all in use refuses more with `.busy`.
@Suite struct QueueFullTests {
    @Test func holdsAuditEntriesAndImportsAnswerQueueFull() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open { $0.queueCapacity = 2 }
        defer { store.close() }
        // The writer waits in the first event's completion while the queue fills up.
        let writerHeld = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        _ = store.submit(IngestTests.received(1)) { _ in
            writerHeld.signal()
            release.wait()
        }
        writerHeld.wait()
        #expect(store.submit(IngestTests.received(2)) { _ in } == .queued)
        #expect(store.submit(IngestTests.received(3)) { _ in } == .queued)
        #expect(store.submit(IngestTests.received(4)) { _ in } == .full)

        let hold = await store.placeHold(HoldRequest(lot: lot("X", "1"), reason: "r"), by: "qa")
        guard case .failed(let holdError) = hold else { throw StoreTestFailure("hold: \(hold)") }
        #expect(holdError.code == .queueFull)
        #expect(holdError.message == "the store's queue is full; retry")

        let audit = await #expect(throws: GenealogyStoreError.self) {
            try await store.appendAudit(actor: "t", action: "export", subject: "s")
        }
        #expect(audit?.code == .queueFull)

        let batch = EPCISImportBatch(
            requests: [IngestTests.received(5)], documentSHA256: "x", client: "c", raw: [], epcisEvents: 1)
        let imported = await store.importEPCIS(batch)
        guard case .failed(let importError) = imported else { throw StoreTestFailure("import: \(imported)") }
        #expect(importError.code == .queueFull)
        release.signal()
    }

    @Test func readersBeyondTheBoundAreRefused() throws {
        let fixture = StoreFixture()
        let store = try fixture.open { $0.maxReaders = 2 }
        defer { store.close() }
        let refused = try store.read { _ in
            try store.read { _ in
                Result { try store.read { _ in 0 } }
            }
        }
        guard case .failure(let error as GenealogyStoreError) = refused else {
            throw StoreTestFailure("a third reader was let in: \(refused)")
        }
        #expect(error.code == .busy)
        #expect(try store.read { _ in 1 } == 1)  // the two came back
    }
}

struct StoreTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
