import GRPCServer
import MESDomain
import MESMessages
import NIOCore

/// `mes.v1.WorkOrders`: List answers the released set at once; Subscribe streams it, then every
/// change (new, changed, done or cancelled). Filters: work center and product (empty matches
/// all); `plant` is accepted and not used (one gateway serves one plant).
public struct WorkOrdersService: Sendable {
    let board: WorkOrderBoard

    public init(board: WorkOrderBoard) { self.board = board }

    public var methods: [GRPCMethod] {
        [
            GRPCMethod(path: "/mes.v1.WorkOrders/List", requests: .one) { _, writer in
                WorkOrdersListHandler(board: board, writer: writer)
            },
            GRPCMethod(path: "/mes.v1.WorkOrders/Subscribe", requests: .one) { context, writer in
                WorkOrdersSubscribeHandler(board: board, context: context, writer: writer)
            },
        ]
    }
}

private struct Filter {
    var workCenter: String
    var product: String

    init?(_ message: ByteBuffer, writer: GRPCResponseWriter) {
        do {
            let f = try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
                try WorkOrderCodec.decodeFilter(bytes)
            }
            workCenter = f.workCenter
            product = f.product
        } catch {
            writer.finish(GRPCStatus(.invalidArgument, "\(error)"))
            return nil
        }
    }

    func matches(_ order: WorkOrder) -> Bool { order.matches(workCenter: workCenter, product: product) }
}

final class WorkOrdersListHandler: GRPCCallHandler {
    private let board: WorkOrderBoard
    private let writer: GRPCResponseWriter

    init(board: WorkOrderBoard, writer: GRPCResponseWriter) {
        self.board = board
        self.writer = writer
    }

    func receive(_ message: ByteBuffer) {
        guard !writer.isFinished, let filter = Filter(message, writer: writer) else { return }
        writer.send(ByteBuffer(bytes: WorkOrderCodec.encodeList(board.current.filter(filter.matches))))
        writer.finish(.ok)
    }

    func endOfInput() {}

    func cancelled() {}
}

final class WorkOrdersSubscribeHandler: GRPCCallHandler {
    private let board: WorkOrderBoard
    private let context: GRPCCallContext
    private let writer: GRPCResponseWriter
    private var subscription: Int?
    private var filter: Filter?

    init(board: WorkOrderBoard, context: GRPCCallContext, writer: GRPCResponseWriter) {
        self.board = board
        self.context = context
        self.writer = writer
    }

    func receive(_ message: ByteBuffer) {
        guard subscription == nil, !writer.isFinished, let filter = Filter(message, writer: writer) else { return }
        self.filter = filter
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let (id, current) = board.subscribe(loop: context.eventLoop) { order in bound.value.changed(order) }
        subscription = id
        current.forEach(changed)
    }

    private func changed(_ order: WorkOrder) {
        guard !writer.isFinished, let filter, filter.matches(order) else { return }
        writer.send(ByteBuffer(bytes: WorkOrderCodec.encode(order)))
    }

    func endOfInput() {}

    func cancelled() {
        if let subscription { board.unsubscribe(subscription) }
        subscription = nil
    }
}
