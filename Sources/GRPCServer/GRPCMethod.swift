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

/// One routable RPC: its path, how many request messages it takes, how its request bytes are
/// given back to the client's window, and how to make a handler for a call.
public struct GRPCMethod: Sendable {
    /// How many request messages a call carries.
    public enum Requests: Sendable {
        /// Unary and server-streaming methods: exactly one. The transport keeps it until the client
        /// half-closes, then calls `receive` and `endOfInput`; a call that ends without a message,
        /// or sends a second one, ends with INVALID_ARGUMENT and never reaches `receive`.
        case one
        /// Client- and bidirectional-streaming methods: any number, each handed over as it completes.
        case stream
    }

    /// When received bytes are returned to the client's HTTP/2 flow-control window.
    public enum FlowControl: Sendable {
        /// Once `receive` returns.
        case automatic
        /// When the handler calls `GRPCResponseWriter.releaseOldestMessage()`; while more than
        /// `heldBytesHighWater` bytes are held, further bytes are not given back.
        case manual
    }

    public let path: String
    public let requests: Requests
    public let flowControl: FlowControl
    /// The method's name, the last part of its path (`Publish`), for status messages. Found once,
    /// here: every call's stream keeps it, and splitting the path per call was 5 % of a
    /// Health/Check's CPU.
    public let name: Substring
    /// Called on the connection's event loop when a call's headers arrive.
    public let makeHandler: @Sendable (GRPCCallContext, GRPCResponseWriter) -> any GRPCCallHandler

    public init(
        path: String, requests: Requests, flowControl: FlowControl = .automatic,
        makeHandler: @escaping @Sendable (GRPCCallContext, GRPCResponseWriter) -> any GRPCCallHandler
    ) {
        self.path = path
        self.name = path.split(separator: "/").last ?? Substring(path)
        self.requests = requests
        self.flowControl = flowControl
        self.makeHandler = makeHandler
    }
}
