import GRPCServer
import NIOCore

extension GRPCMethod {
    /// The same paths, each answering `status` to every call: the hub keeps the contract's
    /// EventIngest, WorkOrders and MasterData methods but serves none of them: events, released
    /// orders and master data are each plant's.
    public static func refusing(_ methods: [GRPCMethod], with status: GRPCStatus) -> [GRPCMethod] {
        methods.map { method in
            GRPCMethod(path: method.path, requests: method.requests) { _, writer in
                RefusingHandler(writer: writer, status: status)
            }
        }
    }
}

/// Answers its status at the first message or at the end of the input, whichever comes first.
private final class RefusingHandler: GRPCCallHandler {
    private let writer: GRPCResponseWriter
    private let status: GRPCStatus
    private var answered = false

    init(writer: GRPCResponseWriter, status: GRPCStatus) {
        self.writer = writer
        self.status = status
    }

    func receive(_ message: ByteBuffer) { answer() }
    func endOfInput() { answer() }
    func cancelled() { answered = true }

    private func answer() {
        guard !answered else { return }
        answered = true
        writer.finish(status)
    }
}
