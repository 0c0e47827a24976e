import GRPCServer
import GenealogyStore
import Logging
import MESDomain
import MESMessages
import NIOCore

/// `mes.v1.Exceptions`: Subscribe streams the exceptions not closed, then every new one and every
/// change of state; List reads the store; Acknowledge and Close run on the store's writer thread,
/// audited under the caller (the token's client, else the peer). Roles: see `AccessPolicy`.
public struct ExceptionsService: Sendable {
    public static let serviceName = "mes.v1.Exceptions"
    /// List answers at most this many.
    static let listLimit = 1_000
    /// What a reason may hold, like a hold's.
    static let reasonLimit = 4_096

    let store: GenealogyStore
    let board: ExceptionBoard
    let logger: Logger

    public init(store: GenealogyStore, board: ExceptionBoard, logger: Logger) {
        self.store = store
        self.board = board
        self.logger = logger
    }

    public var methods: [GRPCMethod] {
        [
            GRPCMethod(path: "/\(Self.serviceName)/Subscribe", requests: .one) { context, writer in
                ExceptionsSubscribeHandler(board: board, context: context, writer: writer)
            },
            GRPCMethod(path: "/\(Self.serviceName)/List", requests: .one) { context, writer in
                DeferredCallHandler.blocking(context: context, writer: writer) { message, _ in self.list(message) }
            },
            GRPCMethod(path: "/\(Self.serviceName)/Acknowledge", requests: .one) { context, writer in
                DeferredCallHandler(context: context, writer: writer) { message, context, done in
                    self.change(message, by: context.who, close: false, done: done)
                }
            },
            GRPCMethod(path: "/\(Self.serviceName)/Close", requests: .one) { context, writer in
                DeferredCallHandler(context: context, writer: writer) { message, context, done in
                    self.change(message, by: context.who, close: true, done: done)
                }
            },
        ]
    }

    /// Blocking (on the query queue).
    private func list(_ message: ByteBuffer) -> DeferredAnswer {
        let filter: ExceptionCodec.Filter
        do {
            filter = try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
                try ExceptionCodec.decodeFilter(bytes)
            }
        } catch {
            return .failure(GRPCStatus(.invalidArgument, "\(error)"))
        }
        let limit = filter.limit == 0 ? Self.listLimit : min(filter.limit, Self.listLimit)
        do {
            // Filtered among the newest `listLimit`: a bounded read whatever the store's size.
            let found = try store.exceptionList(includeClosed: filter.includeClosed, limit: Self.listLimit)
            return .success([ExceptionCodec.encodeList(Array(found.filter(filter.matches).prefix(limit)))])
        } catch let error as GenealogyStoreError {
            return .failure(.storeUnavailable(error, otherwise: "the store could not list the exceptions"))
        } catch {
            return .failure(GRPCStatus(.internalError, "the store could not list the exceptions"))
        }
    }

    private func change(
        _ message: ByteBuffer, by who: String, close: Bool, done: @escaping @Sendable (DeferredAnswer) -> Void
    ) {
        let action: (id: Int64, reason: String)
        do {
            action = try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
                try ExceptionCodec.decodeAction(bytes)
            }
        } catch {
            return done(.failure(GRPCStatus(.invalidArgument, "\(error)")))
        }
        guard action.id > 0 else { return done(.failure(GRPCStatus(.invalidArgument, "id: required"))) }
        guard !action.reason.isEmpty, action.reason.utf8.count <= Self.reasonLimit else {
            return done(
                .failure(GRPCStatus(.invalidArgument, "reason: required, at most \(Self.reasonLimit) bytes")))
        }
        let logger = self.logger
        let completion: @Sendable (ExceptionCommandOutcome) -> Void = { outcome in
            switch outcome {
            case .changed(let x):
                logger.notice(
                    close ? "exception.closed" : "exception.acknowledged",
                    metadata: ["id": "\(x.id)", "kind": "\(x.kind)", "by": "\(who)"])
                done(.success([ExceptionCodec.encode(x)]))
            case .notFound:
                done(.failure(GRPCStatus(.notFound, "no exception has id \(action.id)")))
            case .refused(let reason):
                done(.failure(GRPCStatus(.failedPrecondition, reason)))
            case .failed(let error):
                done(.failure(.storeUnavailable(error, otherwise: "the store could not record it; retry")))
            }
        }
        if close {
            store.closeException(action.id, by: who, reason: action.reason, completion: completion)
        } else {
            store.acknowledgeException(action.id, by: who, reason: action.reason, completion: completion)
        }
    }
}

final class ExceptionsSubscribeHandler: GRPCCallHandler {
    private let board: ExceptionBoard
    private let context: GRPCCallContext
    private let writer: GRPCResponseWriter
    private var subscription: Int?
    private var filter: ExceptionCodec.Filter?

    init(board: ExceptionBoard, context: GRPCCallContext, writer: GRPCResponseWriter) {
        self.board = board
        self.context = context
        self.writer = writer
    }

    func receive(_ message: ByteBuffer) {
        guard subscription == nil, !writer.isFinished else { return }
        do {
            filter = try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
                try ExceptionCodec.decodeFilter(bytes)
            }
        } catch {
            return writer.finish(GRPCStatus(.invalidArgument, "\(error)"))
        }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let (id, current) = board.subscribe(loop: context.eventLoop) { x in bound.value.changed(x) }
        subscription = id
        current.forEach(changed)
    }

    private func changed(_ exception: PlantException) {
        guard !writer.isFinished, let filter, filter.matches(exception) else { return }
        writer.send(ByteBuffer(bytes: ExceptionCodec.encode(exception)))
    }

    func endOfInput() {}

    func cancelled() {
        if let subscription { board.unsubscribe(subscription) }
        subscription = nil
    }
}
