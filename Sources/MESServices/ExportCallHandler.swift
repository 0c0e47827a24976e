import Dispatch
import GRPCServer
import LotExport
import MESDomain
import MESMessages
import NIOCore

/// One `Genealogy.Export` call: the request is decoded and checked on the event loop, the
/// document is built on `QueryQueue.shared`, then streamed back in `ExportChunk`s of at
/// most `chunkBytes`, only while less than `highWaterBytes` wait for the client's HTTP/2 window
/// (a slow reader pauses the sending, it never makes the server buffer the document twice).
final class ExportCallHandler: GRPCCallHandler {
    static let chunkBytes = 64 * 1024
    static let highWaterBytes = 512 * 1024

    private let context: GRPCCallContext
    private let writer: GRPCResponseWriter
    private let service: GenealogyService
    private var request: ExportRequest?
    private var document: ExportDocument?
    private var offset = 0
    private var startedAt = NIODeadline.now()
    private let liveness = CallLiveness()

    init(context: GRPCCallContext, writer: GRPCResponseWriter, service: GenealogyService) {
        self.context = context
        self.writer = writer
        self.service = service
    }

    func receive(_ message: ByteBuffer) {
        let request: ExportRequest
        do {
            request = try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
                try ExportCodec.decodeRequest(bytes)
            }
        } catch {
            writer.finish(GRPCStatus(.invalidArgument, "\(error)"))
            return
        }
        guard request.lot.isTracked else {
            writer.finish(GRPCStatus(.invalidArgument, "lot: must name a lot, serial or container"))
            return
        }
        guard request.format != .unspecified else {
            writer.finish(GRPCStatus(.invalidArgument, "format: must be EPCIS_JSONLD, FSMA204_CSV, DOT or HTML"))
            return
        }
        // Building a document takes memory before its size is known: not while the budget is spent.
        guard writer.outputFits(bytes: Self.highWaterBytes) else { return writer.finish(.outputBudgetSpent) }
        self.request = request
        startedAt = .now()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        let service = self.service
        // The document is handed to the event loop after the call's place in the queue is given
        // back: a client that asks for its next export as soon as this one is out is not refused.
        let queued = QueryQueue.shared.submit(
            connection: context.connectionNumber, for: liveness,
            compute: { () -> Result<ExportDocument, GRPCStatus> in
                guard ExportGate.shared.enter() else {
                    return .failure(GRPCStatus(.resourceExhausted, "too many exports are being built; retry"))
                }
                defer { ExportGate.shared.leave() }
                return service.export(request)
            },
            deliver: { answer in loop.execute { bound.value.deliver(answer) } })
        if !queued { writer.finish(GRPCStatus(.unavailable, QueryQueue.busyMessage)) }
    }

    private func deliver(_ answer: Result<ExportDocument, GRPCStatus>) {
        guard !writer.isFinished else { return }
        switch answer {
        case .success(let document):
            // The document stays in memory until its last chunk is out: held against the budget.
            guard writer.reserveOutput(bytes: document.bytes.count) else { return writer.finish(.outputBudgetSpent) }
            self.document = document
            pump()
        case .failure(let status):
            writer.finish(status)
        }
    }

    /// Sends chunks while the client's window keeps up; finishes after the last one.
    private func pump() {
        guard !writer.isFinished, let document else { return }
        let bytes = document.bytes
        while offset < bytes.count || (offset == 0 && bytes.isEmpty) {
            if writer.pendingBytes >= Self.highWaterBytes {
                let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                writer.whenPendingBelow(Self.highWaterBytes) { bound.value.pump() }
                return
            }
            let end = min(offset + Self.chunkBytes, bytes.count)
            writer.send(ByteBuffer(bytes: ExportCodec.encodeChunk(bytes[offset..<end])))
            offset = end
            if bytes.isEmpty { break }
        }
        writer.finish(.ok)
        if let request {
            service.exported(
                ExportRecord(
                    client: context.client ?? context.peerIdentity, peer: context.peer, requestID: context.requestID,
                    request: request,
                    bytes: bytes.count, items: document.itemCount, events: document.eventCount,
                    truncated: document.truncated,
                    milliseconds: Int((NIODeadline.now() - startedAt).nanoseconds / 1_000_000)))
        }
        self.document = nil
    }

    func endOfInput() {}

    /// The client went away or the deadline passed: drop the document; a build still running ends unseen.
    func cancelled() {
        liveness.end()
        document = nil
    }
}

/// One finished export, for the audit trail: who asked, for what, and what was sent.
public struct ExportRecord: Sendable {
    /// The token's client name (nil without authentication).
    public var client: String?
    public var peer: String
    public var requestID: String
    public var request: ExportRequest
    /// Document size in bytes.
    public var bytes: Int
    /// Lots, serials and containers covered.
    public var items: Int
    /// Stored events covered.
    public var events: Int
    public var truncated: Bool
    /// From the request to the last chunk handed to the transport.
    public var milliseconds: Int
}
