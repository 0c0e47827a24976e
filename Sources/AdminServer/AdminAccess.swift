/// Who may read the admin listener's pages other than `/healthz` and `/readyz` (which stay open
/// for probes): everyone (`open`), or callers whose `authorization: Bearer <token>` header the
/// check admits.
public enum AdminAccess: Sendable {
    /// What the check says of one request's `authorization` header (nil when absent) and peer.
    public enum Verdict: Sendable {
        case allowed
        /// No or unknown credentials: 401.
        case unauthenticated(String)
        /// A credential whose role may not read the pages: 403.
        case forbidden(String)
    }

    case open
    case checked(@Sendable (_ authorization: String?, _ peer: String) -> Verdict)

    /// Paths that never need credentials: liveness and readiness probes.
    static let probePaths: Set<String> = ["/healthz", "/readyz"]

    /// The verdict for a request of `path`.
    func verdict(path: String, authorization: String?, peer: String) -> Verdict {
        switch self {
        case .open: .allowed
        case .checked(let check): Self.probePaths.contains(path) ? .allowed : check(authorization, peer)
        }
    }
}
