import GRPCServer
import MESDomain
import MESMessages
import NIOCore

/// `mes.v1.MasterData`: List answers the newest revision of every matching item at once;
/// Subscribe streams them, then every new revision as the poller records it. Filters: kind and
/// key (empty matches all); `plant` is accepted and not used (one gateway serves one plant).
public struct MasterDataService: Sendable {
    let board: MasterDataBoard

    public init(board: MasterDataBoard) { self.board = board }

    public var methods: [GRPCMethod] {
        [
            GRPCMethod(path: "/mes.v1.MasterData/List", requests: .one) { _, writer in
                MasterDataListHandler(board: board, writer: writer)
            },
            GRPCMethod(path: "/mes.v1.MasterData/Subscribe", requests: .one) { context, writer in
                MasterDataSubscribeHandler(board: board, context: context, writer: writer)
            },
        ]
    }

    /// The filter of a request, or nil after answering INVALID_ARGUMENT.
    fileprivate static func filter(_ message: ByteBuffer, writer: GRPCResponseWriter) -> MasterDataCodec.Filter? {
        do {
            return try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
                try MasterDataCodec.decodeFilter(bytes)
            }
        } catch {
            writer.finish(GRPCStatus(.invalidArgument, "\(error)"))
            return nil
        }
    }
}

final class MasterDataListHandler: GRPCCallHandler {
    private let board: MasterDataBoard
    private let writer: GRPCResponseWriter

    init(board: MasterDataBoard, writer: GRPCResponseWriter) {
        self.board = board
        self.writer = writer
    }

    func receive(_ message: ByteBuffer) {
        guard !writer.isFinished, let filter = MasterDataService.filter(message, writer: writer) else { return }
        writer.send(ByteBuffer(bytes: MasterDataCodec.encodeList(board.current.filter(filter.matches))))
        writer.finish(.ok)
    }

    func endOfInput() {}

    func cancelled() {}
}

final class MasterDataSubscribeHandler: GRPCCallHandler {
    private let board: MasterDataBoard
    private let context: GRPCCallContext
    private let writer: GRPCResponseWriter
    private var subscription: Int?
    private var filter: MasterDataCodec.Filter?

    init(board: MasterDataBoard, context: GRPCCallContext, writer: GRPCResponseWriter) {
        self.board = board
        self.context = context
        self.writer = writer
    }

    func receive(_ message: ByteBuffer) {
        guard subscription == nil, !writer.isFinished, let filter = MasterDataService.filter(message, writer: writer)
        else { return }
        self.filter = filter
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let (id, current) = board.subscribe(loop: context.eventLoop) { revision in bound.value.changed(revision) }
        subscription = id
        current.forEach(changed)
    }

    private func changed(_ revision: MasterRevision) {
        guard !writer.isFinished, let filter, filter.matches(revision) else { return }
        writer.send(ByteBuffer(bytes: MasterDataCodec.encode(revision)))
    }

    func endOfInput() {}

    func cancelled() {
        if let subscription { board.unsubscribe(subscription) }
        subscription = nil
    }
}
