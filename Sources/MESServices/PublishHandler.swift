import GRPCServer
import GenealogyStore
import MESDomain
import MESMessages
import NIOCore

/// One `EventIngest/Publish` call: exactly one event, answered after it is committed.
/// Lives on the call's event loop.
final class PublishHandler: GRPCCallHandler {
    private let service: EventIngestService
    private let context: GRPCCallContext
    private let writer: GRPCResponseWriter

    init(service: EventIngestService, context: GRPCCallContext, writer: GRPCResponseWriter) {
        self.service = service
        self.context = context
        self.writer = writer
    }

    /// The one Event (the transport refuses a call with none or more: `GRPCMethod.Requests.one`).
    func receive(_ message: ByteBuffer) {
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let admission = service.admit(message, context: context) { outcome in
            loop.execute { bound.value.committed(outcome) }
        }
        switch admission {
        case .submitted(let eventID):
            self.eventID = eventID
        case .refused(let error, _):
            writer.releaseOldestMessage()
            writer.finish(GRPCStatus(.invalidArgument, "\(error.field): \(error.reason)"))
        case .unavailable(let reason):
            writer.releaseOldestMessage()
            writer.finish(GRPCStatus(.unavailable, reason))
        }
    }

    /// The submitted event's id, for its Ack.
    private var eventID = ""

    private func committed(_ outcome: IngestOutcome) {
        writer.releaseOldestMessage()
        guard !writer.isFinished else { return }
        switch service.ack(eventID: eventID, outcome: outcome, context: context) {
        case .success(let ack) where ack.result == .rejected:
            let code: GRPCStatus.Code = ack.field == "event_id" ? .alreadyExists : .failedPrecondition
            writer.finish(GRPCStatus(code, "\(ack.field): \(ack.reason)"))
        case .success(let ack):
            writer.send(bytes: AckCodec.encode(ack))
            writer.finish(.ok)
        case .failure(let status):
            writer.finish(status)
        }
    }

    func endOfInput() {}

    func cancelled() {}
}
