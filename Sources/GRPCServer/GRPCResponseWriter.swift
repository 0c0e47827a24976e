public import NIOCore

/// Sends one call's responses. Event-loop confined: use only on `GRPCCallContext.eventLoop`.
///
/// Holds its connection until the stream is gone: the connection lets go in `cancel`, which every
/// stream reaches (on its close, or at the connection's teardown, which NIO runs for every channel
/// through `handlerRemoved`). From then on every call is ignored. A strong reference cleared there,
/// not a weak one: forming and loading a weak reference was about 2 % of a Health/Check's CPU.
public final class GRPCResponseWriter {
    var connection: GRPCConnectionHandler?
    let streamID: Int32
    var headersSent = false
    var finished = false
    /// Called once with the status when the call is finished through `finish` (by the handler or
    /// by the transport: deadline, bad message); not when the stream is reset. For metrics. Dropped
    /// once the call is over, so it may capture the call's handler.
    public var onFinish: ((GRPCStatus) -> Void)?

    init(connection: GRPCConnectionHandler, streamID: Int32) {
        self.connection = connection
        self.streamID = streamID
    }

    /// True after `finish`, or once the call was cancelled.
    public var isFinished: Bool { finished }

    /// Sends one response message (the 5-byte prefix is added here). The response HEADERS
    /// (:status 200, content-type application/grpc) go first automatically. Ignored after
    /// finish or cancel.
    public func send(_ message: ByteBuffer) {
        guard !finished, let connection else { return }
        connection.sendMessage(message, for: self)
    }

    /// Sends one response message given as encoded bytes (an encoder's `[UInt8]`), written with
    /// its prefix straight into the stream's output. Otherwise like `send(_: ByteBuffer)`.
    public func send<Bytes: Collection<UInt8>>(bytes message: Bytes) {
        guard !finished, let connection else { return }
        connection.sendMessage(message, for: self)
    }

    /// Ends the call: trailers with grpc-status and percent-encoded grpc-message (Trailers-Only
    /// when nothing was sent), then RST_STREAM NO_ERROR if the client had not finished sending.
    /// Idempotent.
    public func finish(_ status: GRPCStatus, trailers: [(name: String, value: String)] = []) {
        guard !finished else { return }
        finished = true
        connection?.finishCall(status, trailers: trailers, for: self)
        let onFinish = self.onFinish
        self.onFinish = nil  // called once; and it may hold the handler that holds this writer
        onFinish?(status)
    }

    /// Response bytes queued for this call that the client's flow-control window has not let out
    /// yet. A streaming handler can pause producing while this is large.
    public var pendingBytes: Int {
        connection?.session?.pendingOutboundBytes(streamID: streamID) ?? 0
    }

    /// Calls `body` once, on the event loop, when fewer than `bytes` of this call's responses wait for
    /// the client's window: at once if that is so now, else when the client's reading lets enough
    /// out. A producer that paused because `pendingBytes` was large resumes here instead of polling.
    /// Never called once the call is finished or cancelled; a second call replaces the first.
    public func whenPendingBelow(_ bytes: Int, _ body: @escaping () -> Void) {
        guard !finished, let connection else { return }
        connection.whenPendingBelow(bytes, streamID: streamID, body)
    }

    /// Reserves `bytes` of the server's output budget (`GRPCOutputBudget`) for an answer this call
    /// is about to send or hold, until the stream closes. False when it does not fit: answer
    /// RESOURCE_EXHAUSTED (`GRPCStatus.outputBudgetSpent`) instead of producing it.
    public func reserveOutput(bytes: Int) -> Bool {
        guard !finished, let connection else { return false }
        return connection.reserveOutput(bytes, streamID: streamID)
    }

    /// Whether an answer of `bytes`, sent now, fits the server's output budget (the bytes are
    /// counted once sent). False: answer RESOURCE_EXHAUSTED instead.
    public func outputFits(bytes: Int) -> Bool {
        guard !finished, let connection else { return false }
        return connection.configuration.outputBudget.admits(bytes)
    }

    /// Manual flow control: the oldest delivered message is done with (e.g. durably committed);
    /// its bytes may go back to the client's window.
    public func releaseOldestMessage() {
        connection?.releaseOldestMessage(streamID: streamID)
    }
}

@available(*, unavailable, message: "GRPCResponseWriter is confined to its call's event loop")
extension GRPCResponseWriter: Sendable {}
