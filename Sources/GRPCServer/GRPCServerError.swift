/// Why the server could not run.
public enum GRPCServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The address could not be bound (port busy, no permission, bad host).
    case bindFailed(host: String, port: Int, reason: String)
    /// `run()` was called twice.
    case alreadyRunning

    public var description: String {
        switch self {
        case .bindFailed(let host, let port, let reason): "cannot listen on \(host):\(port): \(reason)"
        case .alreadyRunning: "the gRPC server is already running"
        }
    }
}
