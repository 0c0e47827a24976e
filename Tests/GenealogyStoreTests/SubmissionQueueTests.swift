import MESDomain
import Testing

@testable import GenealogyStore

/// The writer's batches are bounded by events and by received bytes.
@Suite struct SubmissionQueueTests {
    static func submission(bytes: Int) -> Submission {
        Submission(
            request: IngestRequest(
                event: Event(eventID: "e", occurredAtMs: 0, body: nil), raw: [UInt8](repeating: 0, count: bytes),
                client: "t"),
            completion: { _ in })
    }

    @Test func aBatchStopsBeforeTheByteLimitButAlwaysTakesOne() {
        var queue = SubmissionQueue(capacity: 100)
        for size in [100, 3_000, 100, 100, 5_000, 10] { _ = queue.offer(Self.submission(bytes: size)) }
        let sizes = { (batch: [Submission]) in batch.map(\.request.raw.count) }
        #expect(sizes(queue.take(max: 10, maxBytes: 1_000)) == [100])
        #expect(sizes(queue.take(max: 10, maxBytes: 1_000)) == [3_000])  // bigger than the limit: alone
        #expect(sizes(queue.take(max: 10, maxBytes: 1_000)) == [100, 100])
        #expect(sizes(queue.take(max: 10, maxBytes: 1_000)) == [5_000])
        #expect(sizes(queue.take(max: 10, maxBytes: 1_000)) == [10])
        #expect(queue.take(max: 10, maxBytes: 1_000).isEmpty)
    }

    @Test func theEventCountStillBoundsABatch() {
        var queue = SubmissionQueue(capacity: 100)
        for _ in 0..<5 { _ = queue.offer(Self.submission(bytes: 1)) }
        #expect(queue.take(max: 3, maxBytes: 1_000).count == 3)
        #expect(queue.take(max: 3).count == 2)
    }
}
