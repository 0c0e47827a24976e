import Foundation
import GenealogyStore
import MESDomain
import Testing

/// A fresh store's WAL used to grow to 8 MiB and more before its first restart (the restart
/// threshold was 12,288 frames, 48 MiB, whatever the database's size), filling a small disk
/// after a few hundred events. Now a young store's log starts over at about 1 MiB.
@Suite struct WALBoundTests {
    @Test func youngStoreKeepsItsLogShort() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let wal = fixture.path + "-wal"
        var largest = 0
        // One event per transaction, as unary Publish calls make them: the most frames per event.
        for i in 0..<2_000 {
            let outcome = await store.ingest(
                request(
                    "w-\(i)", workOrder: "MO-1", .consumed(.init(component: lot("RAW", "L-\(i % 50)"), qty: qty(1)))))
            #expect(outcome.sequence != nil)
            let size = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0
            largest = max(largest, size)
        }
        let database = (try FileManager.default.attributesOfItem(atPath: fixture.path)[.size] as? Int) ?? 0
        // The writer copies the log itself at twice "long" (2 MiB here); when a checkpointer pass
        // still holds the log after 100 ms (a machine busy with the rest of the suite: seen once
        // at 4,305,432 bytes) it lets the log grow by another 2 MiB before trying again
        // (`IngestWriter.boundWAL`). The bug this guards against grew the log to 8 MiB and more.
        #expect(largest < 4_718_592, "WAL reached \(largest) bytes; database \(database) bytes")
    }
}
