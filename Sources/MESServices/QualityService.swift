import GRPCServer
import GenealogyStore
import Logging
import MESDomain
import MESMessages
import NIOCore

/// `mes.v1.Quality`: PlaceHold and ReleaseHold, run on the store's writer thread so that a hold
/// and the Shipped events around it are serialized. Who placed it: the client named by the bearer
/// token, else the peer address (when the server runs without authentication).
public struct QualityService: Sendable {
    public static let serviceName = "mes.v1.Quality"

    let store: GenealogyStore
    let logger: Logger

    public init(store: GenealogyStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public var methods: [GRPCMethod] {
        [
            GRPCMethod(path: "/\(Self.serviceName)/PlaceHold", requests: .one) { context, writer in
                DeferredCallHandler(context: context, writer: writer) { message, context, done in
                    self.hold(message, context: context, place: true, done: done)
                }
            },
            GRPCMethod(path: "/\(Self.serviceName)/ReleaseHold", requests: .one) { context, writer in
                DeferredCallHandler(context: context, writer: writer) { message, context, done in
                    self.hold(message, context: context, place: false, done: done)
                }
            },
        ]
    }

    func hold(
        _ message: ByteBuffer, context: GRPCCallContext, place: Bool,
        done: @escaping @Sendable (DeferredAnswer) -> Void
    ) {
        let request: HoldRequest
        do {
            request = try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
                try HoldCodec.decodeRequest(bytes)
            }
        } catch {
            return done(.failure(GRPCStatus(.invalidArgument, "\(error)")))
        }
        guard request.lot.isTracked else {
            return done(.failure(GRPCStatus(.invalidArgument, "lot: must name a lot, serial or container")))
        }
        let who = context.client ?? context.peer
        let logger = self.logger
        let completion: @Sendable (HoldOutcome) -> Void = { outcome in
            switch outcome {
            case .changed(let lots):
                logger.info(
                    place ? "quality.hold.placed" : "quality.hold.released",
                    metadata: ["lot": "\(request.lot)", "items": "\(lots.count)", "by": "\(who)"])
                done(.success([HoldCodec.encodeResult(lots)]))
            case .notFound:
                done(.failure(GRPCStatus(.notFound, "\(request.lot) is not in the genealogy store")))
            case .noOpenHold:
                done(.failure(GRPCStatus(.failedPrecondition, "no open hold was placed on \(request.lot)")))
            case .failed(let error):
                logger.error("quality.hold.failed", metadata: ["error": "\(error)"])
                done(.failure(.storeUnavailable(error, otherwise: "the store could not record the hold; retry")))
            }
        }
        if place {
            store.placeHold(request, by: who, completion: completion)
        } else {
            store.releaseHold(request, by: who, completion: completion)
        }
    }
}
