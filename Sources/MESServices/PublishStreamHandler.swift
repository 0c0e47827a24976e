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
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let admission = service.admit(message, context: context) { outcome in
            loop.execute { bound.value.committed(index: index, outcome) }
        }
        switch admission {
        case .submitted(let eventID):
            slots.append(.waiting(eventID: eventID))
        case .refused(let error, let eventID):
            slots.append(.answered(Ack.rejected(eventID, error)))
        case .unavailable(let reason):
            slots.append(.failed(GRPCStatus(.unavailable, reason)))
        }
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
                writer.send(ByteBuffer(bytes: AckCodec.encode(ack)))
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
        // Events already submitted still commit (their acks have nowhere to go; a client that
        // re-sends them gets DUPLICATE). Nothing else to stop.
    }
}
