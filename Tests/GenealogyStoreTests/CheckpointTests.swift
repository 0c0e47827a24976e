import Foundation
import MESDomain
import SQLite
import Synchronization
import Testing

@testable import GenealogyStore

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

    /// How many times the WAL started over while `count` events were committed back to back (the
    /// writer never idle, so a checkpoint never finds the log quiet on its own): the checkpoint
    /// sequence number in the WAL header (bytes 12–15, big-endian), which SQLite increments each
    /// time a writer rewinds the log.
    private func walRestarts(restartFrames: Int, count: Int) async throws -> Int {
        let fixture = StoreFixture()
        let store = try fixture.open {
            $0.walRestartFrames = restartFrames
            // Small transactions back to back, as under a steady stream of acks.
            $0.maxBatchEvents = 4
            $0.queueCapacity = count
        }
        defer { store.close() }
        let requests = (0..<count).map { i in
            request("wal-\(i)", .received(.init(lot: lot("STEEL", "L-\(i)"), qty: qty(1), supplier: "ACME")))
        }
        let outcomes = await store.ingest(requests)
        #expect(outcomes.allSatisfy { if case .accepted = $0 { true } else { false } })
        // Read before close(), whose TRUNCATE checkpoint empties the file.
        let header = try #require(FileManager.default.contents(atPath: fixture.path + "-wal")?.prefix(16))
        #expect(header.count == 16)
        return header.suffix(4).reduce(0) { $0 << 8 | Int($1) }
    }

    @Test func aLongLogStartsOverWhileTheWriterIsBusy() async throws {
        // 20,000 receipts in transactions of 4 keep the writer busy for seconds. The log starts
        // over each time the checkpointer has had the writer copy the tail, which it does once
        // the log is long: with no cap (.max) that is relative to this young database (256
        // frames), with a 64-frame cap sooner (a debug build here: about 490 restarts against
        // 110; before the threshold was relative and the writer woke the checkpointer, 5 or 6
        // against none).
        let unbounded = try await walRestarts(restartFrames: .max, count: 20_000)
        let bounded = try await walRestarts(restartFrames: 64, count: 20_000)
        print("WAL restarts: \(bounded) with a 64-frame threshold, \(unbounded) without")
        #expect(bounded >= 2 && bounded > unbounded, "WAL restarts: \(bounded) with, \(unbounded) without")
    }
}

extension CheckpointTests {
    /// The WAL file is cut back when the log starts over only beyond the longest the log gets under
    /// load (twice the restart length, plus 32 MiB for the batches committed meanwhile): at 64 MiB,
    /// under that bound, the writer cut it back after most restarts under load, in a commit.
    @Test func theWALFileIsCutBackOnlyBeyondTheLongestLogUnderLoad() async throws {
        let frame = 4_096 + 24
        let defaults = StoreOptions()
        #expect(defaults.walFileLimit == 2 * 12_288 * frame + 32 * 1_048_576)
        #expect(defaults.walFileLimit > 2 * defaults.walRestartFrames * frame)
        var young = StoreOptions()
        young.walRestartFrames = 64
        #expect(young.walFileLimit == 64 * 1_048_576)
        var unbounded = StoreOptions()
        unbounded.walRestartFrames = .max
        #expect(unbounded.walFileLimit > 2 * (1 << 20) * frame)

        // The writer's connection runs with it.
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let limit: SQLiteValue? = await withCheckedContinuation { done in
            store.submitCommand(failed: { _ in nil }, completion: { done.resume(returning: $0) }) {
                db, _ throws(SQLiteError) in
                try db.scalar("PRAGMA journal_size_limit")
            }
        }
        #expect(limit == .integer(Int64(defaults.walFileLimit)))
    }

    /// After a pass over a long log that copied everything, the writer is asked to copy the tail
    /// only if the pass was short (the tail is what was committed while it ran) or enough passes
    /// were made in a row; otherwise the checkpointer passes again at once. Anything else waits.
    @Test func theWriterIsAskedForTheTailAfterAShortPass() {
        let short = WALCheckpointer.shortPass
        let long = short * 10
        func after(long isLong: Bool = true, complete: Bool = true, pending: Bool = false, _ ns: UInt64, row: Int = 0)
            -> WALCheckpointer.AfterPass
        {
            WALCheckpointer.afterPass(
                long: isLong, complete: complete, pending: pending, nanoseconds: ns, passesInARow: row)
        }
        #expect(after(short) == .askWriter)
        #expect(after(long) == .passAgain)
        #expect(after(long, row: WALCheckpointer.maxPassesInARow - 1) == .passAgain)
        #expect(after(long, row: WALCheckpointer.maxPassesInARow) == .askWriter)
        #expect(after(long: false, short) == .wait)
        #expect(after(complete: false, short) == .wait)
        #expect(after(complete: false, long) == .wait)
        #expect(after(pending: true, short) == .wait)
    }
}

extension CheckpointTests {
    /// The tail copy the checkpointer asks for is made before the writer's next batch, even with
    /// events queued: every batch committed first would make the tail longer. Two commands in
    /// batches of one: the first asks for the copy, as the checkpointer does, and ends its batch
    /// only once the second is queued; the second, run in the next batch, sees the request done.
    @Test func theWriterCopiesTheTailBeforeItsNextBatchWithEventsQueued() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open { $0.maxBatchEvents = 1 }
        defer { store.close() }
        let inbox = store.inbox
        let secondQueued = DispatchSemaphore(value: 0)
        let firstRan = Mutex<Bool?>(nil)
        store.submitCommand(failed: { _ in false }, completion: { ran in firstRan.withLock { $0 = ran } }) { _, _ in
            inbox.walTailCopy.store(WALTailCopy.wanted, ordering: .releasing)
            secondQueued.wait()
            return true
        }
        // The second answers the request's state as its batch saw it; nil if it could not run.
        let seenBySecond: Int? = await withCheckedContinuation { done in
            store.submitCommand(failed: { _ in nil }, completion: { done.resume(returning: $0) }) { _, _ -> Int? in
                inbox.walTailCopy.load(ordering: .acquiring)
            }
            secondQueued.signal()
        }
        #expect(firstRan.withLock { $0 } == true)
        #expect(seenBySecond == WALTailCopy.none, "the tail was not copied before the next batch")
    }
}
