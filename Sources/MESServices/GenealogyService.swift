import GRPCServer
import GenealogyStore
import Logging
import MESDomain
import MESMessages
import NIOCore

/// `mes.v1.Genealogy`: Trace and LotHistory, read from the store's read-only connections off the
/// event loop. (Export is not served yet: UNIMPLEMENTED.)
public struct GenealogyService: Sendable {
    public static let serviceName = "mes.v1.Genealogy"
    /// The node limit when a request says 0, and the most any trace returns.
    public static let defaultMaxNodes = 100_000

    let store: GenealogyStore
    let logger: Logger

    public init(store: GenealogyStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public var methods: [GRPCMethod] {
        [
            GRPCMethod(path: "/\(Self.serviceName)/Trace") { context, writer in
                DeferredCallHandler.blocking(name: "Trace", context: context, writer: writer) { message, _ in
                    self.trace(message)
                }
            },
            GRPCMethod(path: "/\(Self.serviceName)/LotHistory") { context, writer in
                DeferredCallHandler.blocking(name: "LotHistory", context: context, writer: writer) { message, _ in
                    self.history(message)
                }
            },
        ]
    }

    func trace(_ message: ByteBuffer) -> DeferredAnswer {
        var request: TraceRequest
        do {
            request = try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
                try TraceCodec.decodeRequest(bytes)
            }
        } catch {
            return .failure(GRPCStatus(.invalidArgument, "\(error)"))
        }
        guard request.lot.isTracked else {
            return .failure(GRPCStatus(.invalidArgument, "lot: must name a lot, serial or container"))
        }
        guard request.direction != .unspecified else {
            return .failure(GRPCStatus(.invalidArgument, "direction: must be BACKWARD or FORWARD"))
        }
        if request.maxNodes == 0 || request.maxNodes > Self.defaultMaxNodes { request.maxNodes = Self.defaultMaxNodes }
        do {
            guard let result = try store.trace(request) else {
                return .failure(GRPCStatus(.notFound, "\(request.lot) is not in the genealogy store"))
            }
            return .success([TraceCodec.encode(result)])
        } catch {
            logger.error("genealogy.trace.failed", metadata: ["error": "\(error)"])
            return .failure(GRPCStatus(.unavailable, "the store could not answer the trace; retry"))
        }
    }

    func history(_ message: ByteBuffer) -> DeferredAnswer {
        let lot: LotRef
        do {
            lot = try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
                try HistoryCodec.decodeLotRef(bytes)
            }
        } catch {
            return .failure(GRPCStatus(.invalidArgument, "\(error)"))
        }
        guard lot.isTracked else {
            return .failure(GRPCStatus(.invalidArgument, "lot: must name a lot, serial or container"))
        }
        do {
            guard let events = try store.lotHistory(lot) else {
                return .failure(GRPCStatus(.notFound, "\(lot) is not in the genealogy store"))
            }
            return .success(
                events.map {
                    HistoryCodec.encodeEntry(
                        sequence: $0.sequence, recordedAtMs: $0.recordedAtMs, client: $0.client, rawEvent: $0.raw)
                })
        } catch {
            logger.error("genealogy.history.failed", metadata: ["error": "\(error)"])
            return .failure(GRPCStatus(.unavailable, "the store could not answer; retry"))
        }
    }
}
