internal import Crypto
public import EPCIS
public import GenealogyStore
public import MESDomain
import MESMessages

/// Imports an EPCIS 2.0 JSON capture document: validates it (refusing it whole with a message
/// naming the event and field), maps its events to MES events and stores them and the document in
/// one transaction. Shared by `EventIngest.ImportEPCIS` and `mesgate import-epcis --data`.
public struct EPCISImporter: Sendable {
    let store: GenealogyStore

    public init(store: GenealogyStore) { self.store = store }

    /// Why a document was not stored.
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// The document is not a valid EPCIS 2.0 capture document (INVALID_ARGUMENT).
        case invalid(String)
        /// The store refused one of its events, e.g. shipping a held lot (FAILED_PRECONDITION).
        case refused(String)
        /// The store could not take it (UNAVAILABLE: a full queue, a closing store, a failed commit).
        case unavailable(GenealogyStoreError)

        public var description: String {
            switch self {
            case .invalid(let message), .refused(let message): message
            case .unavailable(let error): "the document could not be stored: \(error)"
            }
        }
    }

    /// Validates, maps and stores `json`; `client` is who sent it. Validation and mapping run on
    /// the calling thread (not an event loop: they cost time in proportion to the document);
    /// `completion` runs once, where the store completes its acks (`GenealogyStore.submit`), or right
    /// away for a refused document.
    public func importDocument(
        _ json: [UInt8], client: String, completion: @escaping @Sendable (Result<EPCISImportResult, Failure>) -> Void
    ) {
        let shape: EPCISDocumentShape
        do { shape = try EPCISValidator.validate(json: json) } catch {
            return completion(.failure(.invalid("\(error)")))
        }
        let mapping = EPCISMapping(shape)
        let requests: [IngestRequest]
        do { requests = try Self.requests(for: mapping, client: client) } catch {
            return completion(.failure(error))
        }
        var summary = EPCISImportResult()
        summary.events = mapping.epcisEvents
        summary.notMapped = mapping.notMapped.count
        summary.lots = mapping.lots.count
        summary.transformations = mapping.transformations
        summary.documentSHA256 = SHA256.hash(data: json).map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
        for mapped in mapping.events {
            switch mapped.event.body {
            case .received: summary.receipts += 1
            case .shipped: summary.shipments += 1
            case .scrapped: summary.scraps += 1
            case .packed: summary.packings += 1
            default: break
            }
        }
        var batch = EPCISImportBatch(
            requests: requests, documentSHA256: summary.documentSHA256, client: client, raw: json,
            epcisEvents: mapping.epcisEvents)
        batch.declarations = mapping.declarations.map {
            .init(baseID: $0.baseID, reason: $0.reason, correctiveBaseIDs: $0.correctiveBaseIDs)
        }
        batch.decode = EventCodec.stored
        let eventsPath = shape.eventsPath
        let indexes = mapping.events.map(\.epcisIndex)
        store.importEPCIS(batch) { [summary] outcome in
            var summary = summary
            switch outcome {
            case .stored(let outcomes, let importID, let voided):
                summary.voided = voided
                for outcome in outcomes {
                    switch outcome {
                    case .accepted: summary.stored += 1
                    case .duplicate: summary.duplicates += 1
                    case .failed: break
                    }
                }
                summary.importID = importID ?? 0
                completion(.success(summary))
            case .refused(let index, let reason):
                completion(
                    .failure(
                        .refused("\(eventsPath)[\(indexes[index])]: \(reason) (nothing of the document was stored)")))
            case .failed(let error):
                completion(.failure(.unavailable(error)))
            }
        }
    }

    /// `importDocument`, awaiting the outcome (for the CLI and tests).
    /// The mapped events as the store takes them, each held to the limits of an event sent over gRPC
    /// (`FieldLimits`, no NUL in a string): checked by decoding the bytes that will be stored, so a
    /// document cannot store an event that `Publish` would refuse or that does not decode again.
    public static func requests(for mapping: EPCISMapping, client: String) throws(Failure) -> [IngestRequest] {
        var requests: [IngestRequest] = []
        requests.reserveCapacity(mapping.events.count)
        for mapped in mapping.events {
            let raw = EventCodec.encode(mapped.event)
            let problem = raw.withUnsafeBytes { bytes -> MessageDecodingError? in
                do throws(MessageDecodingError) {
                    _ = try EventCodec.decode(bytes)
                    return nil
                } catch { return error }
            }
            if let problem {
                throw .invalid(
                    "eventList[\(mapped.epcisIndex)] maps to an event that cannot be stored: \(problem.field) \(problem.reason)"
                )
            }
            requests.append(IngestRequest(event: mapped.event, raw: raw, client: client))
        }
        return requests
    }

    public func importDocument(_ json: [UInt8], client: String) async throws(Failure) -> EPCISImportResult {
        let result = await withCheckedContinuation { done in
            importDocument(json, client: client) { done.resume(returning: $0) }
        }
        return try result.get()
    }
}
