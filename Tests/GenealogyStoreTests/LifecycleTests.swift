import Dispatch
import GenealogyStore
import MESDomain
import SQLite
import Synchronization
import Testing

@Suite struct LifecycleTests {
    @Test func closeFromACompletionDoesNotDeadlock() throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        let done = DispatchSemaphore(value: 0)
        let outcomes = Mutex<[IngestOutcome]>([])
        _ = store.submit(IngestTests.received(1)) { outcome in
            outcomes.withLock { $0.append(outcome) }
            store.close()  // on the writer thread: stops accepting, cannot wait for itself
            done.signal()
        }
        done.wait()
        #expect(store.submit(IngestTests.received(2)) { _ in } == .closed)
        store.close()  // from here it waits for the writer to end
        #expect(outcomes.withLock { $0 } == [.accepted(sequence: 1)])
    }

    @Test func droppingTheStoreClosesIt() async throws {
        let fixture = StoreFixture()
        do {
            let store = try fixture.open()
            #expect(await store.ingest(IngestTests.received(1)) == .accepted(sequence: 1))
        }
        let reopened = try fixture.open()
        defer { reopened.close() }
        #expect(try reopened.eventCount() == 1)
    }

    @Test func readersSeeCommittedBatchesWhileTheWriterWrites() throws {
        let fixture = StoreFixture()
        let store = try fixture.open { $0.readerCount = 2 }
        defer { store.close() }
        let total = 3_000
        let completed = DispatchSemaphore(value: 0)
        let readFailures = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let readers = DispatchGroup()
        for _ in 0..<3 {
            DispatchQueue.global().async(group: readers) {
                var last = 0
                while !stop.load(ordering: .relaxed) {
                    // Counts only grow, and events and their receipts are committed together.
                    let counts = try? store.read { db in
                        try db.cachedStatement(
                            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM receipts)"
                        ).first { ($0.int(at: 0), $0.int(at: 1)) }
                    }
                    guard let (events, receipts) = counts ?? nil, events == receipts, events >= last else {
                        readFailures.add(1, ordering: .relaxed)
                        return
                    }
                    last = events
                }
            }
        }
        for i in 0..<total {
            _ = store.submit(IngestTests.received(i)) { _ in if i == total - 1 { completed.signal() } }
        }
        completed.wait()
        stop.store(true, ordering: .relaxed)
        readers.wait()
        #expect(readFailures.load(ordering: .relaxed) == 0)
        #expect(try store.eventCount() == total)
    }
}
