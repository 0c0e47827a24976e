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

    public var path: String { storage.path }
    public var requests: Requests { storage.requests }
    public var flowControl: FlowControl { storage.flowControl }
    /// The method's name, the last part of its path (`Publish`), for status messages. Found once,
    /// here: every call's stream keeps it, and splitting the path per call was 5 % of a
    /// Health/Check's CPU.
    public var name: Substring { storage.name }
    /// Called on the connection's event loop when a call's headers arrive.
    public var makeHandler: @Sendable (GRPCCallContext, GRPCResponseWriter) -> any GRPCCallHandler {
        storage.makeHandler
    }

    /// One object, so that a connection's lookup of the method for each call copies one reference,
    /// not the path, the name and the closure.
    private final class Storage: Sendable {
        let path: String
        let requests: Requests
        let flowControl: FlowControl
        let name: Substring
        let makeHandler: @Sendable (GRPCCallContext, GRPCResponseWriter) -> any GRPCCallHandler

        init(
            path: String, requests: Requests, flowControl: FlowControl,
            makeHandler: @escaping @Sendable (GRPCCallContext, GRPCResponseWriter) -> any GRPCCallHandler
        ) {
            self.path = path
            self.name = path.split(separator: "/").last ?? Substring(path)
            self.requests = requests
            self.flowControl = flowControl
            self.makeHandler = makeHandler
        }
    }

    private let storage: Storage

    public init(
        path: String, requests: Requests, flowControl: FlowControl = .automatic,
        makeHandler: @escaping @Sendable (GRPCCallContext, GRPCResponseWriter) -> any GRPCCallHandler
    ) {
        storage = Storage(path: path, requests: requests, flowControl: flowControl, makeHandler: makeHandler)
    }
}
