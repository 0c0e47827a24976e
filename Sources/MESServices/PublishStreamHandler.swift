import GRPCServer
import GenealogyStore
import MESDomain
import MESMessages
import NIOCore

/// One `EventIngest/PublishStream` call: one Ack per Event, in the order the events came.
/// A bad event gets a REJECTED Ack and the stream goes on. Lives on the call's event loop.
final class PublishStreamHandler: GRPCCallHandler {
    /// One received event waiting for its answer.
    private enum Slot {
        case waiting(eventID: String)
        case answered(Ack)
        case failed(GRPCStatus)
    }

    private let service: EventIngestService
    private let context: GRPCCallContext
    private let writer: GRPCResponseWriter
    /// Answers from `head` on are not sent yet, oldest first; `sent` answers went out before them.
    private var slots: [Slot] = []
    private var head = 0
    private var sent = 0
    private var inputEnded = false

    init(service: EventIngestService, context: GRPCCallContext, writer: GRPCResponseWriter) {
        self.service = service
        self.context = context
        self.writer = writer
    }

    func receive(_ message: ByteBuffer) {
        guard !writer.isFinished else {
            writer.releaseOldestMessage()
            return
        }
        let index = sent + (slots.count - head)
        switch service.prepare(message, context: context) {
        case .refused(let error, let eventID):
            slots.append(.answered(Ack.rejected(eventID, error)))
        case .ready(let request):
            slots.append(.waiting(eventID: request.event.eventID))
            if parked.isEmpty && submit(request, index: index) {
                break
            }
            parked.append((index, request))
            scheduleRetry()
        }
        flush()
    }

    /// Events waiting for room in the store's queue, oldest first. Later events wait behind them
    /// (order), and none of their HTTP/2 window is given back, so flow control slows the client
    /// instead of the server buffering without bound or refusing.
    private var parked: [(index: Int, request: IngestRequest)] = []
    private var retryScheduled = false

    /// Submits one event; false when the store's queue is full.
    private func submit(_ request: IngestRequest, index: Int) -> Bool {
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        switch service.submit(
            request, completion: { outcome in loop.execute { bound.value.committed(index: index, outcome) } })
        {
        case .queued:
            return true
        case .full:
            return false
        case .closed:
            let position = head + (index - sent)
            if position >= head && position < slots.count {
                slots[position] = .failed(GRPCStatus(.unavailable, EventIngestService.shuttingDown))
            }
            return true
        }
    }

    private func scheduleRetry() {
        guard !retryScheduled else { return }
        retryScheduled = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .milliseconds(2)) {
            bound.value.retryScheduled = false
            bound.value.submitParked()
        }
    }

    private func submitParked() {
        guard !writer.isFinished else {
            parked.removeAll()
            return
        }
        var submitted = 0
        for (index, request) in parked {
            guard submit(request, index: index) else { break }
            submitted += 1
        }
        parked.removeFirst(submitted)
        if !parked.isEmpty { scheduleRetry() }
        flush()
    }

    private func committed(index: Int, _ outcome: IngestOutcome) {
        let position = head + (index - sent)
        guard position >= head, position < slots.count, case .waiting(let eventID) = slots[position] else { return }
        switch service.ack(eventID: eventID, outcome: outcome, context: context) {
        case .success(let ack): slots[position] = .answered(ack)
        case .failure(let status): slots[position] = .failed(status)
        }
        flush()
    }

    /// Sends every answer that is ready at the front, in order.
    private func flush() {
        while head < slots.count {
            switch slots[head] {
            case .waiting:
                compact()
                return
            case .answered(let ack):
                writer.send(bytes: AckCodec.encode(ack))
            case .failed(let status):
                writer.finish(status)
            }
            writer.releaseOldestMessage()
            head += 1
            sent += 1
        }
        compact()
        if inputEnded && head == slots.count { writer.finish(.ok) }
    }

    /// Drops sent answers from the front once they are the larger part of the array.
    private func compact() {
        if head > 1024 && head * 2 > slots.count {
            slots.removeFirst(head)
            head = 0
        }
    }

    func endOfInput() {
        inputEnded = true
        flush()
    }

    func cancelled() {
        parked.removeAll()
        // Events already submitted still commit (their acks have nowhere to go; a client that
        // re-sends them gets DUPLICATE). Nothing else to stop.
    }
}
