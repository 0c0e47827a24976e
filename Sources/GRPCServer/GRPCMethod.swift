public import NIOCore

/// Receives one call. Every method is called on the call's event loop (`GRPCCallContext.eventLoop`).
public protocol GRPCCallHandler: AnyObject {
    /// One whole request message (reassembled across DATA frames, decompressed).
    func receive(_ message: ByteBuffer)
    /// The client half-closed: no more messages will come.
    func endOfInput()
    /// The call is over without the handler finishing it: client RST_STREAM, deadline passed (the
    /// transport already sent DEADLINE_EXCEEDED), a bad request message (the transport already
    /// sent the status), or the connection is gone. Stop the work; later writer calls are ignored.
    func cancelled()
}

/// One routable RPC: its path, how its request bytes are given back to the client's window, and
/// how to make a handler for a call.
public struct GRPCMethod: Sendable {
    /// When received bytes are returned to the client's HTTP/2 flow-control window.
    public enum FlowControl: Sendable {
        /// Once `receive` returns.
        case automatic
        /// When the handler calls `GRPCResponseWriter.releaseOldestMessage()`; while more than
        /// `heldBytesHighWater` bytes are held, further bytes are not given back.
        case manual
    }

    public let path: String
    public let flowControl: FlowControl
    /// Called on the connection's event loop when a call's headers arrive.
    public let makeHandler: @Sendable (GRPCCallContext, GRPCResponseWriter) -> any GRPCCallHandler

    public init(
        path: String, flowControl: FlowControl = .automatic,
        makeHandler: @escaping @Sendable (GRPCCallContext, GRPCResponseWriter) -> any GRPCCallHandler
    ) {
        self.path = path
        self.flowControl = flowControl
        self.makeHandler = makeHandler
    }
}
