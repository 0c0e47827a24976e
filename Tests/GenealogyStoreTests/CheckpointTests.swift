import Foundation
import GenealogyStore
import MESDomain
import Synchronization
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

    /// The largest size the WAL reached while `count` events were committed back to back (the
    /// writer never idle, so a checkpoint never finds the log quiet on its own).
    private func largestWAL(restartFrames: Int, count: Int) async throws -> Int {
        let fixture = StoreFixture()
        let store = try fixture.open {
            $0.walRestartFrames = restartFrames
            // Small transactions back to back, as under a steady stream of acks.
            $0.maxBatchEvents = 4
            $0.queueCapacity = count
        }
        defer { store.close() }
        let largest = Atomic<Int>(0)
        let done = Atomic<Bool>(false)
        let wal = fixture.path + "-wal"
        let sampler = Task {
            while !done.load(ordering: .relaxed) {
                largest.max(fileSize(wal), ordering: .relaxed)
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        let requests = (0..<count).map { i in
            request("wal-\(i)", .received(.init(lot: lot("STEEL", "L-\(i)"), qty: qty(1), supplier: "ACME")))
        }
        let outcomes = await store.ingest(requests)
        done.store(true, ordering: .relaxed)
        await sampler.value
        #expect(outcomes.allSatisfy { if case .accepted = $0 { true } else { false } })
        return max(largest.load(ordering: .relaxed), fileSize(wal))
    }

    @Test func aLongLogStartsOverWhileTheWriterIsBusy() async throws {
        // 20,000 receipts in transactions of 4 keep the writer busy for seconds. Without restarts (a threshold no log
        // reaches) the WAL only grows; with a 64-frame threshold the checkpointer has the writer
        // copy the tail and the log starts over, so its file stays far smaller (in a debug build here:
        // 92 MB against 242 MB; a release build copies faster and keeps it smaller still).
        let unbounded = try await largestWAL(restartFrames: .max, count: 20_000)
        let bounded = try await largestWAL(restartFrames: 64, count: 20_000)
        #expect(bounded * 2 < unbounded, "largest WAL: \(bounded) bytes with restarts, \(unbounded) without")
    }
}
