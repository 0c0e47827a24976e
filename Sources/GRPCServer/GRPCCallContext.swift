internal import HTTP2
public import NIOCore

/// What a handler knows about its call. Made on the connection's event loop when the request
/// headers arrive.
public struct GRPCCallContext: Sendable {
    /// The `:path`, for example "/mes.v1.EventIngest/Publish".
    public let path: String
    /// Request headers minus pseudo-headers and gRPC-reserved ones (content-type, te, grpc-*);
    /// `-bin` values are left base64 as sent. Made when asked for; `metadata(_:)` looks one up
    /// without making the list.
    public var metadata: [(name: String, value: String)] {
        headers.filter { Self.isMetadata($0.name) }.map { (name: $0.name, value: $0.value) }
    }
    /// The request's header block as received.
    let headers: [HTTP2Header]
    /// When the call must be over, from grpc-timeout.
    public let deadline: NIODeadline?
    /// The remote address, for logs and audit.
    public let peer: String
    /// The connection's loop; every handler and writer call happens on it.
    public let eventLoop: any EventLoop
    /// A short unique id for logs: connection number and stream ID, base 36 ("k-1f"). Made when
    /// asked for (a log line), not for every call.
    public var requestID: String { id.description }
    /// `requestID` as its two numbers: what a wrapper keeps for a later log line instead of a
    /// copy of the whole context.
    public var id: GRPCRequestID { GRPCRequestID(connectionNumber: connectionNumber, streamID: streamID) }
    /// The connection the call came on, numbered from 1 in the order they were accepted (with
    /// `streamID`, the call's `requestID`).
    public let connectionNumber: UInt64
    let streamID: Int32
    /// The authenticated client's name, set by an access-control wrapper; nil without one.
    public var client: String?
    /// The subject of the client certificate the connection presented (TLS with client
    /// certificates, see `GRPCPeerIdentity`); nil without one.
    public let peerIdentity: String?
    /// Who is calling, as people read it (audit entries, `client` of stored events): the token's
    /// client name, else the certificate's subject, else the address.
    public var who: String { client ?? peerIdentity ?? peer }

    init(
        path: String, headers: [HTTP2Header], deadline: NIODeadline?, peer: String, peerIdentity: String? = nil,
        eventLoop: any EventLoop, connectionNumber: UInt64, streamID: Int32
    ) {
        self.peerIdentity = peerIdentity
        self.path = path
        self.headers = headers
        self.deadline = deadline
        self.peer = peer
        self.eventLoop = eventLoop
        self.connectionNumber = connectionNumber
        self.streamID = streamID
    }

    /// The first metadata value named `name` (lower-case).
    public func metadata(_ name: String) -> String? {
        headers.first(where: { $0.name == name && Self.isMetadata($0.name) })?.value
    }

    /// Whether a request header is metadata: not a pseudo-header, not gRPC-reserved.
    static func isMetadata(_ name: String) -> Bool {
        !(name.hasPrefix(":") || name.hasPrefix("grpc-") || name == "content-type" || name == "te")
    }
}

/// A call's `requestID` before it is made text: connection number and stream ID.
public struct GRPCRequestID: Sendable, Hashable, CustomStringConvertible {
    public let connectionNumber: UInt64
    public let streamID: Int32

    /// Base 36, connection then stream: "k-1f".
    public var description: String {
        "\(String(connectionNumber, radix: 36))-\(String(streamID, radix: 36))"
    }
}

/// A user event a connection's pipeline sends the gRPC handler once the peer is known beyond its
/// address (a TLS handshake with a client certificate): its name for every call on the connection.
public struct GRPCPeerIdentity: Sendable {
    public let name: String
    public init(_ name: String) { self.name = name }
}

/// `127.0.0.1:36770` or `[::1]:36770` (NIO's description is `[IPv4]127.0.0.1/127.0.0.1:36770`).
func peerText(_ address: SocketAddress?) -> String {
    guard let address else { return "unknown" }
    guard let ip = address.ipAddress, let port = address.port else { return address.description }
    if case .v6 = address { return "[\(ip)]:\(port)" }
    return "\(ip):\(port)"
}
