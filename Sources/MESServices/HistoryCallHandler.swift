import GRPCServer
import GenealogyStore
import Logging
import MESDomain
import MESMessages
import NIOCore

/// One `Genealogy.LotHistory` call: the history is read a page at a time on `QueryQueue.shared` and
/// each page is sent once the client has taken most of the one before (fewer than `highWaterBytes`
/// of it waiting for the client's window). A client that stops reading stops the reading of the
/// store; what the server holds for the call stays under a page plus the high water, however long
/// the history. The pages cover the history as it stood at the first (`LotHistoryPage.through`).
final class HistoryCallHandler: GRPCCallHandler {
    /// The store's `raw` bytes read per page.
    static let pageBytes = 128 * 1024
    static let highWaterBytes = 256 * 1024
    /// How long to wait before asking the query queue again when it had no place for the next page.
    static let busyRetryDelay = TimeAmount.milliseconds(20)

    private let context: GRPCCallContext
    private let writer: GRPCResponseWriter
    private let store: GenealogyStore
    private let logger: Logger
    private let liveness = CallLiveness()
    private var lot: LotRef?
    /// The last sequence sent, and the newest the history covers (nil before the first page).
    private var after: Int64 = 0
    private var through: Int64?

    init(context: GRPCCallContext, writer: GRPCResponseWriter, store: GenealogyStore, logger: Logger) {
        self.context = context
        self.writer = writer
        self.store = store
        self.logger = logger
    }

    func receive(_ message: ByteBuffer) {
        let lot: LotRef
        do {
            lot = try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
                try HistoryCodec.decodeLotRef(bytes)
            }
        } catch {
            return writer.finish(GRPCStatus(.invalidArgument, "\(error)"))
        }
        guard lot.isTracked else {
            return writer.finish(GRPCStatus(.invalidArgument, "lot: must name a lot, serial or container"))
        }
        // The first page is read before anything can be counted: not while the budget is spent.
        guard writer.outputFits(bytes: Self.highWaterBytes) else { return writer.finish(.outputBudgetSpent) }
        self.lot = lot
        readPage(first: true)
    }

    /// Reads the next page off the event loop. A first page that finds no place in the query queue
    /// (or in the output budget) is refused; a later one waits for a place, since the answer has begun.
    private func readPage(first: Bool = false) {
        guard !writer.isFinished, let lot else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        let (store, after, through) = (self.store, self.after, self.through)
        let queued = QueryQueue.shared.submit(
            connection: context.connectionNumber, for: liveness,
            compute: { () -> Result<LotHistoryPage?, any Error> in
                Result { try store.lotHistoryPage(lot, after: after, through: through, maxBytes: Self.pageBytes) }
            },
            deliver: { page in loop.execute { bound.value.deliver(page) } })
        guard !queued else { return }
        if first { return writer.finish(GRPCStatus(.unavailable, QueryQueue.busyMessage)) }
        context.eventLoop.scheduleTask(in: Self.busyRetryDelay) { bound.value.readPage() }
    }

    private func deliver(_ page: Result<LotHistoryPage?, any Error>) {
        guard !writer.isFinished, let lot else { return }
        let history: LotHistoryPage
        switch page {
        case .success(let read?):
            history = read
        case .success(nil):
            return writer.finish(GRPCStatus(.notFound, "\(lot) is not in the genealogy store"))
        case .failure(let error):
            logger.error("genealogy.history.failed", metadata: ["error": "\(error)", "lot": "\(lot)"])
            let otherwise = "the store could not answer; retry"
            guard let error = error as? GenealogyStoreError else {
                return writer.finish(GRPCStatus(.unavailable, otherwise))
            }
            return writer.finish(.storeUnavailable(error, otherwise: otherwise))
        }
        let entries = history.events.map {
            HistoryCodec.encodeEntry(
                sequence: $0.sequence, recordedAtMs: $0.recordedAtMs, client: $0.client, plant: $0.plant,
                correction: $0.correction, corrects: $0.corrects, rawEvent: $0.raw)
        }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        guard writer.outputFits(bytes: entries.reduce(0) { $0 + 5 + $1.count }) else {
            // Other calls hold the budget. Before anything was sent, refuse; after, the answer has
            // begun: read the page again once some of the budget may be back.
            guard through != nil else { return writer.finish(.outputBudgetSpent) }
            context.eventLoop.scheduleTask(in: Self.busyRetryDelay) { bound.value.readPage() }
            return
        }
        for entry in entries { writer.send(bytes: entry) }
        if history.isLast { return writer.finish(.ok) }
        after = history.events.last?.sequence ?? after
        through = history.through
        writer.whenPendingBelow(Self.highWaterBytes) { bound.value.readPage() }
    }

    func endOfInput() {}

    /// The client went away or the deadline passed: a page still waiting for the queue is skipped.
    func cancelled() { liveness.end() }
}
