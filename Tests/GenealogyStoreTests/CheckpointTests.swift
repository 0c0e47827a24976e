import Foundation
import GenealogyStore
import MESDomain
import Testing

/// The WAL is copied back into the database file by the store's checkpointer thread while the
/// store runs (the writer's own automatic checkpoint is off).
@Suite struct CheckpointTests {
    private func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    @Test func theCheckpointerMovesCommittedPagesIntoTheDatabaseFile() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let before = fileSize(fixture.path)
        let requests = (0..<3_000).map { i in
            request("ckpt-\(i)", .received(.init(lot: lot("STEEL", "L-\(i)"), qty: qty(1), supplier: "ACME")))
        }
        let outcomes = await store.ingest(requests)
        #expect(outcomes.allSatisfy { if case .accepted = $0 { true } else { false } })
        // Without a checkpoint every new page stays in genealogy.sqlite-wal; wait for the thread.
        var grown = false
        for _ in 0..<40 where !grown {
            try await Task.sleep(for: .milliseconds(100))
            grown = fileSize(fixture.path) > before + 100_000
        }
        #expect(grown, "genealogy.sqlite is still \(fileSize(fixture.path)) bytes (was \(before))")
    }
}
