import Dispatch

/// One submitted event and the completion to call once its batch is done.
struct Submission: Sendable {
    var request: IngestRequest
    var completion: @Sendable (IngestOutcome) -> Void
    /// A store command (a hold, a release) to run in the batch instead of recording `request`.
    var command: WriterCommand? = nil
    /// When it was submitted (monotonic), for the time its batch waited for the writer.
    var submittedAtNanos = DispatchTime.now().uptimeNanoseconds
}

/// The writer's inbox: a FIFO of submissions with a capacity, plus the store's lifecycle.
///
/// A plain value: the store keeps it behind a `Mutex`, so every method runs under that lock on
/// whichever thread submits, closes or drains (the writer).
struct SubmissionQueue {
    enum Lifecycle {
        /// Accepting submissions.
        case open
        /// `close()` was called: no more submissions; the writer drains what is queued, then stops.
        case closing
        /// The writer has stopped.
        case closed
    }

    let capacity: Int
    private(set) var lifecycle: Lifecycle = .open
    /// Whether the writer is (about to be) blocked waiting for work and needs a signal.
    var writerWaiting = false
    /// Elements before `head` are taken; compacted when the taken part is large.
    private var items: [Submission] = []
    private var head = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { items.count - head }

    enum Offer {
        /// Queued; `wakeWriter` when the writer is waiting and must be signalled.
        case queued(wakeWriter: Bool)
        case full
        case closed
    }

    mutating func offer(_ submission: Submission) -> Offer {
        guard lifecycle == .open else { return .closed }
        guard count < capacity else { return .full }
        items.append(submission)
        let wake = writerWaiting
        writerWaiting = false
        return .queued(wakeWriter: wake)
    }

    /// Up to `max` submissions, oldest first, of at most `maxBytes` received bytes together (the
    /// first one whatever its size), so that a batch of large events does not hold the acks of
    /// the small ones in it for long.
    mutating func take(max: Int, maxBytes: Int = .max) -> [Submission] {
        var n = 0
        var bytes = 0
        while n < Swift.min(max, count) {
            bytes += items[head + n].request.raw.count
            if n > 0 && bytes > maxBytes { break }
            n += 1
        }
        guard n > 0 else { return [] }
        let batch = Array(items[head..<head + n])
        head += n
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4_096 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return batch
    }

    /// Stops accepting; returns whether the writer is waiting and must be signalled.
    mutating func beginClosing() -> Bool {
        guard lifecycle == .open else { return false }
        lifecycle = .closing
        let wake = writerWaiting
        writerWaiting = false
        return wake
    }

    mutating func markClosed() { lifecycle = .closed }
}
