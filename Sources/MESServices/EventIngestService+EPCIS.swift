import GRPCServer
import Logging
import MESDomain
import MESMessages
import NIOCore

extension EventIngestService {
    /// `ImportEPCIS`: an EPCIS 2.0 capture document, validated and mapped on the query queue,
    /// stored in one transaction by the writer. Invalid → INVALID_ARGUMENT with the message; a
    /// store refusal (shipping a held lot) → FAILED_PRECONDITION; nothing is stored either way.
    var importEPCISMethod: GRPCMethod {
        GRPCMethod(path: "/\(Self.serviceName)/ImportEPCIS", requests: .one) { context, writer in
            DeferredCallHandler(context: context, writer: writer) { message, context, done in
                let json: [UInt8]
                do {
                    json = try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
                        try EPCISImportCodec.decodeDocument(bytes)
                    }
                } catch {
                    return done(.failure(GRPCStatus(.invalidArgument, "\(error)")))
                }
                let client = context.who
                let logger = self.logger
                let requestID = context.requestID
                let queued = QueryQueue.shared.submit {
                    EPCISImporter(store: self.store).importDocument(json, client: client) { result in
                        switch result {
                        case .success(let summary):
                            logger.info(
                                "epcis.import.stored",
                                metadata: [
                                    "request_id": "\(requestID)", "events": "\(summary.events)",
                                    "stored": "\(summary.stored)", "duplicates": "\(summary.duplicates)",
                                ])
                            done(.success([EPCISImportCodec.encodeResult(summary)]))
                        case .failure(.invalid(let message)):
                            done(.failure(GRPCStatus(.invalidArgument, message)))
                        case .failure(.refused(let message)):
                            done(.failure(GRPCStatus(.failedPrecondition, message)))
                        case .failure(.unavailable(let error)):
                            logger.error(
                                "epcis.import.failed", metadata: ["request_id": "\(requestID)", "error": "\(error)"])
                            done(
                                .failure(
                                    .storeUnavailable(error, otherwise: "the store could not store the document; retry")
                                ))
                        }
                    }
                }
                if !queued { done(.failure(GRPCStatus(.unavailable, QueryQueue.busyMessage))) }
            }
        }
    }
}
