import Dispatch
import GRPCServer
import NIOCore

/// The answer of a deferred call: the response messages to send, then OK; or a status.
typealias DeferredAnswer = Result<[[UInt8]], GRPCStatus>

/// A call with one request whose answer is computed off the event loop (on `QueryQueue.shared`
/// or the store's writer thread) and sent back on the loop: Trace, LotHistory, PlaceHold, ReleaseHold.
final class DeferredCallHandler: GRPCCallHandler {
    typealias Work = @Sendable (ByteBuffer, GRPCCallContext, @escaping @Sendable (DeferredAnswer) -> Void) -> Void

    private let context: GRPCCallContext
    private let writer: GRPCResponseWriter
    private let work: Work
    private let name: String
    private var received = false

    init(name: String, context: GRPCCallContext, writer: GRPCResponseWriter, work: @escaping Work) {
        self.name = name
        self.context = context
        self.writer = writer
        self.work = work
    }

    /// A handler whose work is a blocking function run on `QueryQueue.shared`; UNAVAILABLE at once
    /// when that queue is at its bound.
    static func blocking(
        name: String, context: GRPCCallContext, writer: GRPCResponseWriter,
        _ body: @escaping @Sendable (ByteBuffer, GRPCCallContext) -> DeferredAnswer
    ) -> DeferredCallHandler {
        DeferredCallHandler(name: name, context: context, writer: writer) { message, context, done in
            let queued = QueryQueue.shared.submit { done(body(message, context)) }
            if !queued { done(.failure(GRPCStatus(.unavailable, QueryQueue.busyMessage))) }
        }
    }

    func receive(_ message: ByteBuffer) {
        guard !received else {
            writer.finish(GRPCStatus(.invalidArgument, "\(name) takes exactly one request message"))
            return
        }
        received = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        work(message, context) { answer in loop.execute { bound.value.answer(answer) } }
    }

    private func answer(_ answer: DeferredAnswer) {
        guard !writer.isFinished else { return }
        switch answer {
        case .success(let messages):
            for message in messages { writer.send(bytes: message) }
            writer.finish(.ok)
        case .failure(let status):
            writer.finish(status)
        }
    }

    func endOfInput() {
        if !received { writer.finish(GRPCStatus(.invalidArgument, "\(name) ended without a request message")) }
    }

    func cancelled() {}
}
