import GRPCServer
import GenealogyStore
import Logging
import MESDomain
import MESMessages
import NIOCore

extension EventIngestService {
    /// `Correct`: voids a stored event or replaces it, on the store's writer thread (so it
    /// serializes with ingest). Refusals: see `mes.v1.EventIngest.Correct` in events.proto.
    var correctMethod: GRPCMethod {
        GRPCMethod(path: "/\(Self.serviceName)/Correct", requests: .one) { context, writer in
            DeferredCallHandler(context: context, writer: writer) { message, context, done in
                let request: CorrectionRequest
                switch self.correctionRequest(message, by: context.who) {
                case .success(let made): request = made
                case .failure(let status): return done(.failure(status))
                }
                let logger = self.logger
                let requestID = context.requestID
                self.store.correct(request, decode: EventCodec.stored) {
                    outcome in
                    switch outcome {
                    case .corrected(let correction):
                        logger.notice(
                            correction.isVoid ? "event.voided" : "event.corrected",
                            metadata: [
                                "request_id": "\(requestID)", "event_id": "\(correction.eventID)",
                                "correction": "\(correction.id)", "by": "\(correction.by)",
                                "replacement": "\(correction.replacementEventID ?? "")",
                            ])
                        done(
                            .success([
                                CorrectionCodec.encodeResult(
                                    .init(
                                        correctionID: correction.id, sequence: correction.sequence,
                                        replacementSequence: correction.replacementSequence ?? 0,
                                        reposted: correction.reposted, odooToReverse: correction.odooToReverse))
                            ]))
                    case .notFound:
                        done(.failure(GRPCStatus(.notFound, "no stored event has event_id \(request.eventID)")))
                    case .correctedBefore(let before):
                        done(.failure(GRPCStatus(.failedPrecondition, Self.describe(before))))
                    case .replacementRefused(let error):
                        done(
                            .failure(
                                GRPCStatus(
                                    error.code == .conflict ? .alreadyExists : .failedPrecondition,
                                    "replacement: \(error.message)")))
                    case .failed(let error):
                        logger.error(
                            "event.correction.failed", metadata: ["request_id": "\(requestID)", "error": "\(error)"])
                        done(
                            .failure(
                                .storeUnavailable(error, otherwise: "the store could not store the correction; retry")))
                    }
                }
            }
        }
    }

    /// The request as the store takes it, or INVALID_ARGUMENT naming the field.
    func correctionRequest(_ message: ByteBuffer, by who: String) -> Result<CorrectionRequest, GRPCStatus> {
        let decoded: CorrectionCodec.Request
        do {
            decoded = try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
                try CorrectionCodec.decodeRequest(bytes)
            }
        } catch {
            return .failure(GRPCStatus(.invalidArgument, "\(error)"))
        }
        if decoded.eventID.isEmpty { return .failure(GRPCStatus(.invalidArgument, "event_id: is required")) }
        if decoded.reason.trimmingCharacters(in: .whitespaces).isEmpty {
            return .failure(GRPCStatus(.invalidArgument, "reason: is required (say why the event is corrected)"))
        }
        var replacement: IngestRequest?
        if let (event, raw) = decoded.replacement {
            do throws(EventValidationError) {
                try validator.validate(event)
            } catch {
                return .failure(GRPCStatus(.invalidArgument, "replacement.\(error.field): \(error.reason)"))
            }
            if event.eventID == decoded.eventID {
                return .failure(
                    GRPCStatus(
                        .invalidArgument,
                        "replacement.event_id: is the corrected event's own id; the corrected event needs an id of its own"
                    ))
            }
            replacement = IngestRequest(event: event, raw: raw, client: who)
        }
        return .success(
            CorrectionRequest(eventID: decoded.eventID, reason: decoded.reason, replacement: replacement, by: who))
    }

    static func describe(_ correction: Correction) -> String {
        let what =
            correction.replacementEventID.map { "replaced by \($0)" } ?? "voided"
        return
            "event \(correction.eventID) was \(what) by correction \(correction.id) (\(correction.by): \(correction.reason)); correct the replacement instead"
    }
}
