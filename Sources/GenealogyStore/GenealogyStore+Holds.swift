public import MESDomain
import SQLite
import Synchronization

/// Quality holds, placed and released on the writer thread so that they serialize with ingest.
extension GenealogyStore {
    /// Queues a hold on `request.lot` (see `HoldBook`). `completion` runs once, on the writer
    /// thread, after the batch commits; on `.full`/`.closed` it runs right away with `.failed`.
    public func placeHold(
        _ request: HoldRequest, by who: String, completion: @escaping @Sendable (HoldOutcome) -> Void
    ) {
        submitHoldCommand(completion) { db, nowMs throws(SQLiteError) in
            try HoldBook(db: db, nowMs: nowMs).place(request, by: who)
        }
    }

    /// Queues the release of the open holds placed on `request.lot` (see `HoldBook`).
    public func releaseHold(
        _ request: HoldRequest, by who: String, completion: @escaping @Sendable (HoldOutcome) -> Void
    ) {
        submitHoldCommand(completion) { db, nowMs throws(SQLiteError) in
            try HoldBook(db: db, nowMs: nowMs).release(request, by: who)
        }
    }

    /// `placeHold`, awaiting the outcome (for the CLI and tests).
    public func placeHold(_ request: HoldRequest, by who: String) async -> HoldOutcome {
        await withCheckedContinuation { done in placeHold(request, by: who) { done.resume(returning: $0) } }
    }

    /// `releaseHold`, awaiting the outcome (for the CLI and tests).
    public func releaseHold(_ request: HoldRequest, by who: String) async -> HoldOutcome {
        await withCheckedContinuation { done in releaseHold(request, by: who) { done.resume(returning: $0) } }
    }

    /// Refused events by kind (`shipment_refused`): what `mesgate exceptions` adds to the exceptions.
    public func refusedEventCounts() throws -> [String: Int] {
        try storeQuery { db throws(SQLiteError) in
            var counts: [String: Int] = [:]
            try db.cachedStatement("SELECT kind, count(*) FROM refused_events GROUP BY kind").query {
                counts[$0.string(at: 0)] = $0.int(at: 1)
            }
            return counts
        }
    }

    /// The newest `limit` refused events, newest first (event id, detail, when).
    public func refusedEvents(limit: Int) throws -> [RefusedEvent] {
        try storeQuery { db throws(SQLiteError) in
            var found: [RefusedEvent] = []
            try db.cachedStatement(
                "SELECT id, kind, event_id, detail, client, created_at_ms FROM refused_events ORDER BY id DESC LIMIT ?1"
            ).query([.int(limit)]) {
                found.append(
                    RefusedEvent(
                        id: $0.int64(at: 0), kind: $0.string(at: 1), eventID: $0.string(at: 2),
                        detail: $0.string(at: 3), client: $0.string(at: 4), createdAtMs: $0.int64(at: 5)))
            }
            return found
        }
    }

    private func submitHoldCommand(
        _ completion: @escaping @Sendable (HoldOutcome) -> Void,
        _ body: @escaping @Sendable (SQLiteConnection, Int64) throws(SQLiteError) -> HoldOutcome
    ) {
        let answer = Mutex<HoldOutcome?>(nil)
        let command = WriterCommand { db, nowMs throws(SQLiteError) in
            let outcome = try body(db, nowMs)
            answer.withLock { $0 = outcome }
        }
        let placeholder = IngestRequest(event: Event(eventID: "", occurredAtMs: 0, body: nil), raw: [], client: "")
        let submitted = submit(placeholder, command: command) { outcome in
            switch outcome {
            case .failed(let error): completion(.failed(error))
            case .accepted, .duplicate: completion(answer.withLock { $0 } ?? .failed(.init(.eventFailed, "no answer")))
            }
        }
        switch submitted {
        case .queued: break
        case .full: completion(.failed(GenealogyStoreError(.queueFull, "the store's queue is full; retry")))
        case .closed: completion(.failed(GenealogyStoreError(.closed, "the store is closed")))
        }
    }
}

extension GenealogyStore {
    /// Queues a writer command like `submit` queues an event.
    func submit(
        _ request: IngestRequest, command: WriterCommand, completion: @escaping @Sendable (IngestOutcome) -> Void
    ) -> SubmitResult {
        let submission = Submission(request: request, completion: completion, command: command)
        switch inbox.queue.withLock({ $0.offer(submission) }) {
        case .queued(let wakeWriter):
            if wakeWriter { inbox.wakeup.signal() }
            return .queued
        case .full: return .full
        case .closed: return .closed
        }
    }
}

/// An event the store refused (a Shipped of a held item), as `mesgate exceptions` lists it.
public struct RefusedEvent: Sendable, Hashable {
    public var id: Int64
    public var kind: String
    public var eventID: String
    public var detail: String
    public var client: String
    public var createdAtMs: Int64
}
