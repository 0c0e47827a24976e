import GRPCServer
import NIOCore
import Synchronization

/// What handlers saw, readable from tests on any thread.
final class CallLog: Sendable {
    private let entries = Mutex<[String]>([])
    func add(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }
}

/// Test-only box for writers of manual-flow-control calls. Used only on the thread that drives
/// the EmbeddedChannel, so no two threads touch it.
final class WriterBox: @unchecked Sendable {
    var writers: [GRPCResponseWriter] = []
}

/// Echoes every message back; finishes OK when the client half-closes.
final class EchoHandler: GRPCCallHandler {
    let writer: GRPCResponseWriter
    let log: CallLog
    init(_ writer: GRPCResponseWriter, _ log: CallLog) {
        self.writer = writer
        self.log = log
    }
    func receive(_ message: ByteBuffer) {
        log.add("receive \(message.readableBytes)")
        writer.send(message)
    }
    func endOfInput() {
        log.add("end")
        writer.finish(.ok)
    }
    func cancelled() { log.add("cancelled") }
}

/// Server streaming: for a one-byte request N, sends N messages [i], then OK.
final class CountHandler: GRPCCallHandler {
    let writer: GRPCResponseWriter
    var count = 0
    init(_ writer: GRPCResponseWriter) { self.writer = writer }
    func receive(_ message: ByteBuffer) { count = Int(message.readableBytesView.first ?? 0) }
    func endOfInput() {
        for i in 0..<count { writer.send(ByteBuffer(bytes: [UInt8(i)])) }
        writer.finish(GRPCStatus(.ok, "done"), trailers: [(name: "x-count", value: "\(count)")])
    }
    func cancelled() {}
}

/// Holds messages (manual flow control); never finishes by itself.
final class HoldingHandler: GRPCCallHandler {
    let log: CallLog
    init(_ log: CallLog) { self.log = log }
    func receive(_ message: ByteBuffer) { log.add("receive \(message.readableBytes)") }
    func endOfInput() { log.add("end") }
    func cancelled() { log.add("cancelled") }
}

/// Manual flow control like PublishStream: answers every message at once with a 1 KiB "ack"
/// and is done with it (its bytes may go back to the client's window).
final class AckingHandler: GRPCCallHandler {
    let writer: GRPCResponseWriter
    let log: CallLog
    init(_ writer: GRPCResponseWriter, _ log: CallLog) {
        self.writer = writer
        self.log = log
    }
    func receive(_ message: ByteBuffer) {
        log.add("ack")
        writer.send(ByteBuffer(repeating: 7, count: 1024))
        writer.releaseOldestMessage()
    }
    func endOfInput() { writer.finish(.ok) }
    func cancelled() {}
}

/// One request; answers with as many KiB as its first byte says when they fit the output budget.
final class BigAnswerHandler: GRPCCallHandler {
    let writer: GRPCResponseWriter
    init(_ writer: GRPCResponseWriter) { self.writer = writer }
    func receive(_ message: ByteBuffer) {
        let kib = Int(message.readableBytesView.first ?? 0)
        guard writer.outputFits(bytes: kib * 1024) else { return writer.finish(.outputBudgetSpent) }
        for _ in 0..<kib { writer.send(ByteBuffer(repeating: 1, count: 1019)) }
        writer.finish(.ok)
    }
    func endOfInput() {}
    func cancelled() {}
}

func testMethods(log: CallLog, writers: WriterBox = WriterBox()) -> [GRPCMethod] {
    [
        GRPCMethod(path: "/test.Echo/Echo", requests: .stream) { _, writer in EchoHandler(writer, log) },
        GRPCMethod(path: "/test.Echo/One", requests: .one) { _, writer in EchoHandler(writer, log) },
        GRPCMethod(path: "/test.Echo/Count", requests: .stream) { _, writer in CountHandler(writer) },
        GRPCMethod(path: "/test.Echo/Hold", requests: .stream, flowControl: .manual) { context, writer in
            writers.writers.append(writer)
            log.add("open \(context.path) \(context.metadata("x-user") ?? "-")")
            return HoldingHandler(log)
        },
        GRPCMethod(path: "/test.Echo/Ack", requests: .stream, flowControl: .manual) { _, writer in
            AckingHandler(writer, log)
        },
        GRPCMethod(path: "/test.Echo/Big", requests: .one) { _, writer in BigAnswerHandler(writer) },
        GRPCMethod(path: "/test.Echo/Slow", requests: .stream) { context, writer in
            log.add("deadline \(context.deadline != nil)")
            return HoldingHandler(log)
        },
    ]
}

/// Frames one gRPC message.
func grpcFrame(_ payload: [UInt8], compressed: Bool = false) -> [UInt8] {
    let n = UInt32(payload.count)
    return [compressed ? 1 : 0, UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
        + payload
}

/// Splits a response body into message payloads.
func grpcMessages(_ body: [UInt8]) -> [[UInt8]] {
    var messages: [[UInt8]] = []
    var rest = body[...]
    while rest.count >= 5 {
        let n = rest.dropFirst().prefix(4).reduce(0) { $0 << 8 | Int($1) }
        guard rest.count >= 5 + n else { break }
        messages.append(Array(rest.dropFirst(5).prefix(n)))
        rest = rest.dropFirst(5 + n)
    }
    return messages
}
