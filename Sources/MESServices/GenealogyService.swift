import GRPCServer
import GenealogyStore
import Logging
import LotExport
import MESDomain
import MESMessages
import NIOCore

/// `mes.v1.Genealogy`: Trace, LotHistory and Export, read from the store's read-only connections
/// off the event loop.
public struct GenealogyService: Sendable {
    public static let serviceName = "mes.v1.Genealogy"
    /// The node limit when a request says 0, and the most any trace returns.
    public static let defaultMaxNodes = 100_000

    let store: GenealogyStore
    let logger: Logger
    let exporter: LotExporter
    /// Called once per export whose last chunk was handed to the transport (the audit trail's
    /// "export" entry); on the connection's event loop, so keep it short.
    public var onExported: (@Sendable (ExportRecord) -> Void)?

    public init(store: GenealogyStore, logger: Logger, exporter: LotExporter? = nil) {
        self.store = store
        self.logger = logger
        self.exporter = exporter ?? LotExporter(store: store, logger: logger)
    }

    public var methods: [GRPCMethod] {
        [
            GRPCMethod(path: "/\(Self.serviceName)/Trace", requests: .one) { context, writer in
                DeferredCallHandler.blocking(context: context, writer: writer) { message, _ in
                    self.trace(message)
                }
            },
            GRPCMethod(path: "/\(Self.serviceName)/LotHistory", requests: .one) { context, writer in
                HistoryCallHandler(context: context, writer: writer, store: store, logger: logger)
            },
            GRPCMethod(path: "/\(Self.serviceName)/Export", requests: .one) { context, writer in
                ExportCallHandler(context: context, writer: writer, service: self)
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
            let otherwise = "the store could not answer the trace; retry"
            guard let error = error as? GenealogyStoreError else {
                return .failure(GRPCStatus(.unavailable, otherwise))
            }
            return .failure(.storeUnavailable(error, otherwise: otherwise))
        }
    }

    /// Builds the export document; blocking (runs on `QueryQueue.shared`).
    func export(_ request: ExportRequest) -> Result<ExportDocument, GRPCStatus> {
        do {
            guard let document = try exporter.export(request) else {
                return .failure(GRPCStatus(.notFound, "\(request.lot) is not in the genealogy store"))
            }
            return .success(document)
        } catch {
            switch error {
            case .noFormat: return .failure(GRPCStatus(.invalidArgument, error.description))
            case .store:
                logger.error("genealogy.export.failed", metadata: ["error": "\(error)"])
                return .failure(GRPCStatus(.unavailable, "the store could not answer the export; retry"))
            case .hash:
                logger.error("genealogy.export.failed", metadata: ["error": "\(error)"])
                return .failure(GRPCStatus(.internalError, "the export could not be written"))
            }
        }
    }

    /// The one place an export is reported as done (see `onExported`).
    func exported(_ record: ExportRecord) {
        logger.info(
            "genealogy.export",
            metadata: [
                "request_id": "\(record.requestID)", "client": "\(record.client ?? record.peer)",
                "format": "\(record.request.format)", "bytes": "\(record.bytes)", "events": "\(record.events)",
                "ms": "\(record.milliseconds)",
            ])
        onExported?(record)
    }
}
