import GRPCServer
import GenealogyStore
import Logging
import MESDomain
import MESMessages
import NIOCore

/// `mes.v1.EventIngest`: decode, validate, commit through the store's writer thread, ack.
///
/// Handlers run on their connection's event loop; the store calls back once the event is
/// committed and on the disk (on its completion thread) and the answer hops back to the loop. Flow control is manual: a request's
/// HTTP/2 window is given back only once its event is acked, so a client that sends faster
/// than the store commits is slowed down instead of buffered without bound.
public struct EventIngestService: Sendable {
    public static let serviceName = "mes.v1.EventIngest"

    let store: GenealogyStore
    let validator: EventValidator
    let logger: Logger

    public init(store: GenealogyStore, validator: EventValidator, logger: Logger) {
        self.store = store
        self.validator = validator
        self.logger = logger
    }

    public var methods: [GRPCMethod] {
        [
            GRPCMethod(path: "/\(Self.serviceName)/Publish", requests: .one, flowControl: .manual) { context, writer in
                PublishHandler(service: self, context: context, writer: writer)
            },
            GRPCMethod(path: "/\(Self.serviceName)/PublishStream", requests: .stream, flowControl: .manual) {
                context, writer in
                PublishStreamHandler(service: self, context: context, writer: writer)
            },
            importEPCISMethod,
            correctMethod,
        ]
    }

    /// What became of one request message before the store saw it.
    enum Admission {
        case submitted(eventID: String)
        case refused(EventValidationError, eventID: String)
        case unavailable(String)
    }

    /// A decoded, validated event ready for the store, or why it is not.
    enum Prepared {
        case ready(IngestRequest)
        case refused(EventValidationError, eventID: String)
    }

    /// Decodes and validates one request message. Runs on the event loop.
    func prepare(_ message: ByteBuffer, context: GRPCCallContext) -> Prepared {
        let event: Event
        do {
            event = try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
                try EventCodec.decode(bytes)
            }
        } catch {
            let field = error.field.isEmpty ? "event" : error.field
            let eventID = message.withUnsafeReadableBytes { EventCodec.eventID($0) }
            return .refused(EventValidationError(field: field, reason: error.reason), eventID: eventID)
        }
        do {
            try validator.validate(event)
        } catch {
            return .refused(error, eventID: event.eventID)
        }
        return .ready(
            IngestRequest(event: event, raw: Array(message.readableBytesView), client: context.who))
    }

    /// Hands one event to the store's writer; `completion` runs once it is committed and synced
    /// (`GenealogyStore.submit`).
    func submit(_ request: IngestRequest, completion: @escaping @Sendable (IngestOutcome) -> Void) -> SubmitResult {
        let submitted = ContinuousClock.now
        return store.submit(request) { outcome in
            IngestMetrics.ackLatency.recordInterval(since: submitted)
            completion(outcome)
        }
    }

    static let queueFull = "the ingest queue is full; retry with backoff"
    static let shuttingDown = "the server is shutting down; retry on another instance or later"

    /// Decodes, validates and submits one event (the unary path: a full queue is UNAVAILABLE).
    func admit(
        _ message: ByteBuffer, context: GRPCCallContext,
        completion: @escaping @Sendable (IngestOutcome) -> Void
    ) -> Admission {
        switch prepare(message, context: context) {
        case .refused(let error, let eventID):
            return .refused(error, eventID: eventID)
        case .ready(let request):
            switch submit(request, completion: completion) {
            case .queued: return .submitted(eventID: request.event.eventID)
            case .full: return .unavailable(Self.queueFull)
            case .closed: return .unavailable(Self.shuttingDown)
            }
        }
    }

    /// The Ack for a stored event; a store failure becomes UNAVAILABLE (the client retries) and is logged.
    func ack(eventID: String, outcome: IngestOutcome, context: GRPCCallContext) -> Result<Ack, GRPCStatus> {
        switch outcome {
        case .accepted(let sequence): return .success(Ack(eventID: eventID, result: .accepted, sequence: sequence))
        case .duplicate(let sequence): return .success(Ack(eventID: eventID, result: .duplicate, sequence: sequence))
        case .failed(let error) where error.code == .refused:
            // A Shipped of a held item: REJECTED on a stream; Publish turns it into FAILED_PRECONDITION.
            return .success(Ack(eventID: eventID, result: .rejected, reason: error.message, field: "shipped.lot"))
        case .failed(let error) where error.code == .conflict:
            // A re-used event_id: REJECTED on a stream; Publish turns it into ALREADY_EXISTS.
            return .success(Ack(eventID: eventID, result: .rejected, reason: error.message, field: "event_id"))
        case .failed(let error) where error.code == .invalid:
            // A master-data rule in refuse mode: REJECTED on a stream, FAILED_PRECONDITION on Publish.
            return .success(Ack(eventID: eventID, result: .rejected, reason: error.message, field: error.field))
        case .failed(let error):
            logger.error(
                "ingest.commit.failed",
                metadata: ["request_id": "\(context.requestID)", "peer": "\(context.peer)", "error": "\(error)"])
            return .failure(GRPCStatus(.unavailable, "the store could not commit the event; retry"))
        }
    }
}
