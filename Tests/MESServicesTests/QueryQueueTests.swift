import Dispatch
import Foundation
import GRPCServer
import GenealogyStore
import Synchronization
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

    /// A call's place is given back before its answer is handed on: a client that sends its next
    /// call the moment it has the answer is let in even at one place per connection and in all.
    /// (A Trace client calling one after another was refused "too many queries in progress" when
    /// the worker thread was descheduled between handing the answer on and returning.)
    @Test func theNextCallOfAConnectionIsLetInOnceTheAnswerIsOnItsWay() {
        let queue = QueryQueue(label: "test.queries", limit: 1, perConnectionLimit: 1)
        let delivered = DispatchSemaphore(value: 0)
        let admittedNext = Outcome()
        let submitted = queue.submit(
            connection: 7, for: CallLiveness(), compute: { 42 },
            deliver: { answer in
                admittedNext.set(answer == 42 && queue.submit(connection: 7) {})
                delivered.signal()
            })
        #expect(submitted)
        delivered.wait()
        #expect(admittedNext.value == true)

        // A call that ended before its turn: nothing computed, nothing delivered, its place given
        // back (submitted once the work let in above has ended: the queue has one place in all).
        let ended = CallLiveness()
        ended.end()
        let submittedEnded = Self.submitUntilLetIn {
            queue.submit(
                connection: 8, for: ended,
                compute: {
                    Issue.record("computed")
                    return 0
                },
                deliver: { _ in Issue.record("delivered") })
        }
        #expect(submittedEnded)
        let skipped = DispatchSemaphore(value: 0)
        #expect(Self.submitUntilLetIn { queue.submit(connection: 8) { skipped.signal() } })
        skipped.wait()
    }

    /// Calls `submit` until it returns true (a place came free), at most for about a second.
    static func submitUntilLetIn(_ submit: () -> Bool) -> Bool {
        for _ in 0..<1_000 {
            if submit() { return true }
            usleep(1_000)
        }
        return false
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

/// What a closure on another thread found, for the test to read after it signalled.
private final class Outcome: Sendable {
    private let found = Mutex<Bool?>(nil)
    func set(_ value: Bool) { found.withLock { $0 = value } }
    var value: Bool? { found.withLock { $0 } }
}
