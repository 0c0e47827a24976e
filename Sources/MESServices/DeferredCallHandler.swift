import Dispatch
import GRPCServer
import NIOCore

/// The answer of a deferred call: the response messages to send, then OK; or a status.
typealias DeferredAnswer = Result<[[UInt8]], GRPCStatus>

/// A call with one request whose answer is computed off the event loop (on `QueryQueue.shared`
/// or the store's writer thread) and sent back on the loop: Trace, PlaceHold, ReleaseHold.
final class DeferredCallHandler: GRPCCallHandler {
    typealias Work = @Sendable (ByteBuffer, GRPCCallContext, @escaping @Sendable (DeferredAnswer) -> Void) -> Void

    private let context: GRPCCallContext
    private let writer: GRPCResponseWriter
    private let work: Work
    /// Ended when the call is cancelled: work still waiting for the query queue is then skipped.
    let liveness: CallLiveness

    init(context: GRPCCallContext, writer: GRPCResponseWriter, work: @escaping Work) {
        self.context = context
        self.writer = writer
        self.work = work
        liveness = CallLiveness()
    }

    /// `work` given the handler's liveness: built before the handler, so the closure gets it here.
    private init(context: GRPCCallContext, writer: GRPCResponseWriter, live: (CallLiveness) -> Work) {
        self.context = context
        self.writer = writer
        let liveness = CallLiveness()
        self.work = live(liveness)
        self.liveness = liveness
    }

    /// A handler whose work is a blocking function run on `QueryQueue.shared`; UNAVAILABLE at once
    /// when that queue is at its bound.
    static func blocking(
        context: GRPCCallContext, writer: GRPCResponseWriter,
        _ body: @escaping @Sendable (ByteBuffer, GRPCCallContext) -> DeferredAnswer
    ) -> DeferredCallHandler {
        DeferredCallHandler(context: context, writer: writer) { (liveness: CallLiveness) -> Work in
            { message, context, done in
                let queued = QueryQueue.shared.submit(
                    connection: context.connectionNumber, for: liveness, compute: { body(message, context) },
                    deliver: done)
                if !queued { done(.failure(GRPCStatus(.unavailable, QueryQueue.busyMessage))) }
            }
        }
    }

    /// The one request message (the transport refuses a call with none or more).
    func receive(_ message: ByteBuffer) {
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        work(message, context) { answer in loop.execute { bound.value.answer(answer) } }
    }

    private func answer(_ answer: DeferredAnswer) {
        guard !writer.isFinished else { return }
        switch answer {
        case .success(let messages):
            guard writer.outputFits(bytes: messages.reduce(0) { $0 + 5 + $1.count }) else {
                return writer.finish(.outputBudgetSpent)
            }
            for message in messages { writer.send(bytes: message) }
            writer.finish(.ok)
        case .failure(let status):
            writer.finish(status)
        }
    }

    func endOfInput() {}

    func cancelled() { liveness.end() }
}
