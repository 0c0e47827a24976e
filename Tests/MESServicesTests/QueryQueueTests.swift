import Dispatch
import Foundation
import GRPCServer
import GenealogyStore
import Testing

@testable import MESServices

@Suite struct QueryQueueTests {
    /// Work beyond the bound is refused at once, not queued; the bound frees up as work ends.
    @Test func workBeyondTheLimitIsRefused() {
        let queue = QueryQueue(label: "test.queries", limit: 3)
        let release = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let finished = DispatchGroup()
        for _ in 0..<3 {
            finished.enter()
            #expect(
                queue.submit {
                    started.signal()
                    release.wait()
                    finished.leave()
                })
        }
        for _ in 0..<3 { started.wait() }
        #expect(!queue.submit { Issue.record("ran beyond the limit") })
        #expect(queue.count == 3)
        for _ in 0..<3 { release.signal() }
        finished.wait()
        let ranAfter = DispatchSemaphore(value: 0)
        // `count` drops when each closure has returned; submit until one is let in (bounded).
        var accepted = false
        for _ in 0..<1_000 where !accepted {
            accepted = queue.submit { ranAfter.signal() }
            if !accepted { usleep(1_000) }
        }
        #expect(accepted)
        ranAfter.wait()
    }

    /// A full store queue is UNAVAILABLE saying so, distinct from a store that is closing.
    @Test func storeFailuresBecomeUnavailableWithWhatToDo() {
        let full = GRPCStatus.storeUnavailable(
            GenealogyStoreError(.queueFull, "the store's queue is full; retry"), otherwise: "x")
        #expect(full.code == .unavailable && full.message == "the store's queue is full; retry")
        let closed = GRPCStatus.storeUnavailable(GenealogyStoreError(.closed, "the store is closed"), otherwise: "x")
        #expect(closed.code == .unavailable && closed.message == EventIngestService.shuttingDown)
        let busy = GRPCStatus.storeUnavailable(GenealogyStoreError(.busy, "too many queries"), otherwise: "x")
        #expect(busy.code == .unavailable && busy.message == "too many queries")
        let other = GRPCStatus.storeUnavailable(GenealogyStoreError(.commitFailed, "disk"), otherwise: "retry later")
        #expect(other.code == .unavailable && other.message == "retry later")
    }
}
