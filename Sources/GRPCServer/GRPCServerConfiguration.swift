public import NIOCore

/// Where the server listens and the limits it enforces per connection and per call.
public struct GRPCServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// 0 picks a free port; read it from `GRPCServer.localAddress`.
    public var port: Int = 50051
    /// Largest request message (decided from the 5-byte prefix, and after gzip decoding).
    public var maxMessageBytes: Int = 4 * 1024 * 1024
    /// SETTINGS_MAX_CONCURRENT_STREAMS.
    public var maxConcurrentStreams: Int = 256
    /// SETTINGS_MAX_HEADER_LIST_SIZE, enforced: a larger request header list gets 431 and a reset.
    public var maxHeaderListBytes: Int = 16 * 1024
    /// SETTINGS_INITIAL_WINDOW_SIZE. With manual flow control the windows bound what one client
    /// can have waiting in the server: at most the connection window plus `heldBytesHighWater` per
    /// stream (about 30,000 typical events per connection with these defaults).
    public var initialStreamWindowBytes: Int = 256 << 10
    /// The connection window, raised by WINDOW_UPDATE on stream 0 at start.
    public var connectionWindowBytes: Int = 4 << 20
    /// Manual flow control: bytes held per stream before the window stops being given back.
    public var heldBytesHighWater: Int = 64 << 10
    /// Response bytes the process holds for clients that have not read them, at most, over every
    /// connection (see `GRPCOutputBudget`); shared by all connections of the server.
    public var outputBudget = GRPCOutputBudget(limitBytes: 256 << 20)
    /// Per streaming call: while more response bytes than this wait for the client's window, the
    /// call's input window is not given back (its client is not read until it reads).
    public var streamOutputHighWater: Int = 256 << 10
    /// Per connection: while more response bytes than this wait for the client to read them, a new
    /// call on the connection is refused at once (RESOURCE_EXHAUSTED), before any work is done.
    public var connectionOutputHighWater: Int = 1 << 20
    public var eventLoopThreads: Int = System.coreCount
    /// Open connections at most; a connection accepted beyond it is closed at once.
    public var maxConnections: Int = 1000
    /// Open connections from one remote address at most (plants put many lines behind one NAT).
    public var maxConnectionsPerAddress: Int = 100
    /// A connection must send the HTTP/2 preface and its first SETTINGS frame within this long
    /// (after TLS) or it is closed: slow or silent openers hold no slot for long.
    public var handshakeTimeout: TimeAmount = .seconds(10)
    /// A connection with no open stream and nothing read or written for this long gets GOAWAY and
    /// closes. Nil: never.
    public var idleTimeout: TimeAmount? = .seconds(300)
    /// How long open streams may run after a graceful shutdown began.
    public var shutdownGracePeriod: TimeAmount = .seconds(10)
    /// Between the GOAWAY shutdown notice and the final GOAWAY (about one round trip).
    public var goAwayNoticeDelay: TimeAmount = .milliseconds(500)
    /// Adds handlers in front of the gRPC handler of every accepted connection (TLS, for
    /// example); called on the connection's event loop. Nil: plain h2c.
    public var connectionPreamble: (@Sendable (any Channel) throws -> Void)?

    public init() {}
}
