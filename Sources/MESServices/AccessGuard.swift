import Foundation
public import GRPCServer
public import Logging
import Metrics
import NIOCore
import Synchronization

/// Authentication and authorization of every call, as one wrapper around the methods' handlers:
/// `wrap(methods)` returns the same methods whose handlers first check the `authorization:
/// Bearer <token>` metadata against the token table and the method's required role
/// (`AccessPolicy`). It also counts calls by method and status (`mesgate_grpc_calls_total`).
///
/// Without a token table (no `--tokens`), every call is let through: loopback development only.
/// Failed attempts are counted per remote host; a host with too many is throttled for a while:
/// new or unknown credentials get RESOURCE_EXHAUSTED, clients that authenticated from that host
/// before go on (`AuthFailureLimiter`). Each failure is logged (`auth.failed`) and counted
/// (`mesgate_auth_failures_total`) and written to the hash-chained audit trail (`auditFailures(to:)`,
/// rate-limited by `AuthFailureAudit`).
///
/// Thread use: `wrap`'s handlers run on event loops; `replaceTokens` from any thread (SIGHUP).
public final class AccessGuard: Sendable {
    /// One refused attempt, for the status page.
    public struct Failure: Sendable {
        public var atMs: Int64
        public var peer: String
        public var method: String
        public var reason: String
    }

    /// A client's last admitted call, for the status page ("is line 3 still sending?").
    public struct ClientActivity: Sendable {
        /// The token's client name, or the peer's address without authentication.
        public var client: String
        public var lastCallAtMs: Int64
        public var lastMethod: String
        public var calls: Int
    }

    private struct State {
        var tokens: TokenTable?
        var limiter: AuthFailureLimiter
        var recent: [Failure] = []
        /// Bounded: at most `maxClients` names (token clients, or peer hosts without tokens).
        var clients: [String: ClientActivity] = [:]
        /// Where refused attempts are written (set once the store is open).
        var audit: AuthFailureAudit?
    }

    private static let maxClients = 1000

    private let state: Mutex<State>
    private let logger: Logger
    private let nowMs: @Sendable () -> Int64

    public init(
        tokens: TokenTable?, maxFailuresPerHost: Int = 10, failureWindow: Duration = .seconds(60), logger: Logger,
        nowMs: @escaping @Sendable () -> Int64
    ) {
        state = Mutex(
            State(tokens: tokens, limiter: AuthFailureLimiter(maxFailures: maxFailuresPerHost, window: failureWindow)))
        self.logger = logger
        self.nowMs = nowMs
    }

    /// Whether calls need a token.
    public var authenticationEnabled: Bool { state.withLock { $0.tokens != nil } }

    /// Swaps in a new token table (SIGHUP). Open connections and calls already admitted go on;
    /// the next call is checked against the new table.
    public func replaceTokens(_ tokens: TokenTable) {
        state.withLock { $0.tokens = tokens }
    }

    /// Writes every refused attempt from now on to the audit trail through `audit`.
    public func auditFailures(to audit: AuthFailureAudit) {
        state.withLock { $0.audit = audit }
    }

    /// The newest refused attempts, newest first (at most 50).
    public var recentFailures: [Failure] { state.withLock { $0.recent.reversed() } }

    /// Every client seen since start with its last call, most recent first.
    public var clientActivity: [ClientActivity] {
        state.withLock { $0.clients.values.sorted { $0.lastCallAtMs > $1.lastCallAtMs } }
    }

    /// Notes an admitted call of `client` (open methods such as health are not noted).
    private func noteCall(client: String, path: String) {
        let now = nowMs()
        state.withLock { state in
            if state.clients[client] == nil && state.clients.count >= Self.maxClients { return }
            var activity =
                state.clients[client] ?? ClientActivity(client: client, lastCallAtMs: now, lastMethod: path, calls: 0)
            activity.lastCallAtMs = now
            activity.lastMethod = path
            activity.calls += 1
            state.clients[client] = activity
        }
    }

    /// What to do with one call.
    enum Decision: Equatable {
        case allow(client: String?)
        case refuse(GRPCStatus, reason: String)
    }

    /// Decides a call from its path, peer and `authorization` metadata.
    func decide(path: String, peer: String, authorization: String?) -> Decision {
        decide(path: path, requirement: AccessPolicy.requirement(for: path), peer: peer, authorization: authorization)
    }

    /// Decides a call whose method's requirement is already known (`wrap` looks it up once per
    /// method, not once per call).
    func decide(path: String, requirement: AccessPolicy.Requirement, peer: String, authorization: String?)
        -> Decision
    {
        if requirement == .open { return .allow(client: nil) }
        let host = AuthFailureLimiter.host(ofPeer: peer)
        let now = ContinuousClock.now
        let (tokens, throttled) = state.withLock { state in
            (state.tokens, state.tokens != nil && state.limiter.isThrottled(host, now: now))
        }
        guard let tokens else { return .allow(client: nil) }
        // Hashing and comparing happen outside the lock; only the outcome takes it again.
        let entry = Self.bearerToken(authorization).flatMap { tokens.authenticate(token: $0) }
        if throttled {
            // While the address is throttled, only clients already known there get in: guessing
            // stays limited, and the MES lines behind the same NAT go on.
            let known = entry.map { entry in state.withLock { $0.limiter.isKnown(entry.client, at: host, now: now) } }
            if known != true {
                return .refuse(
                    GRPCStatus(
                        .resourceExhausted, "too many failed authentication attempts from this address; retry later"),
                    reason: "locked_out")
            }
        }
        guard let entry else {
            state.withLock { $0.limiter.recordFailure(host, now: now) }
            if Self.bearerToken(authorization) == nil {
                return .refuse(
                    GRPCStatus(.unauthenticated, "missing authorization: Bearer <token> metadata"),
                    reason: "missing_token")
            }
            return .refuse(GRPCStatus(.unauthenticated, "unknown token"), reason: "unknown_token")
        }
        if !throttled { state.withLock { $0.limiter.recordSuccess(entry.client, at: host, now: now) } }
        guard requirement.admits(entry.role) else {
            return .refuse(
                GRPCStatus(.permissionDenied, "role \(entry.role.rawValue) may not call \(path)"),
                reason: "role_not_allowed")
        }
        return .allow(client: entry.client)
    }

    /// Checks a request to the admin listener's pages (`--admin-auth token`): the `authorization`
    /// header must carry a token of role `admin`. Failures count toward the address's throttle like
    /// gRPC ones. nil when admitted, else the refusal (UNAUTHENTICATED, PERMISSION_DENIED or
    /// RESOURCE_EXHAUSTED).
    public func checkAdmin(authorization: String?, peer: String) -> GRPCStatus? {
        let verdict = decide(
            path: "/mesgate.Admin/Pages", requirement: .roles([.admin]), peer: peer, authorization: authorization)
        switch verdict {
        case .allow: return nil
        case .refuse(let status, let reason):
            Counter(label: "mesgate_auth_failures_total", dimensions: [("reason", reason)]).increment()
            logger.warning("admin.auth.failed", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
            return status
        }
    }

    static func bearerToken(_ value: String?) -> String? {
        guard let value else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// The methods, each behind the access check and the call counter.
    public func wrap(_ methods: [GRPCMethod]) -> [GRPCMethod] {
        methods.map { method in
            let counters = CallCounters(path: method.path, logger: logger)
            let requirement = AccessPolicy.requirement(for: method.path)
            return GRPCMethod(path: method.path, requests: method.requests, flowControl: method.flowControl) {
                context, writer in
                self.makeHandler(method, requirement, counters, context, writer)
            }
        }
    }

    /// One object per call: the counting wrapper, around the method's handler when admitted.
    private func makeHandler(
        _ method: GRPCMethod, _ requirement: AccessPolicy.Requirement, _ counters: CallCounters,
        _ context: GRPCCallContext, _ writer: GRPCResponseWriter
    ) -> any GRPCCallHandler {
        let observed = ObservedCallHandler(counters: counters, requestID: context.id)
        writer.onFinish = { status in observed.finished(status.code) }
        let authorization = requirement == .open ? nil : context.metadata("authorization")
        switch decide(path: method.path, requirement: requirement, peer: context.peer, authorization: authorization) {
        case .allow(let client):
            if requirement != .open {
                noteCall(client: client ?? AuthFailureLimiter.host(ofPeer: context.peer), path: method.path)
            }
            if let client {
                var context = context
                context.client = client
                observed.inner = method.makeHandler(context, writer)
            } else {
                observed.inner = method.makeHandler(context, writer)  // no copy of the context
            }
        case .refuse(let status, let reason):
            refused(context, status: status, reason: reason)
            writer.finish(status)
        }
        return observed
    }

    private func refused(_ context: GRPCCallContext, status: GRPCStatus, reason: String) {
        Counter(label: "mesgate_auth_failures_total", dimensions: [("reason", reason)]).increment()
        logger.warning(
            "auth.failed",
            metadata: [
                "request_id": "\(context.requestID)", "grpc.peer": "\(context.peer)", "grpc.method": "\(context.path)",
                "reason": "\(reason)", "grpc.status": "\(status.code.name)",
            ])
        let failure = Failure(atMs: nowMs(), peer: context.peer, method: context.path, reason: reason)
        let audit = state.withLock { state in
            state.recent.append(failure)
            if state.recent.count > 50 { state.recent.removeFirst() }
            return state.audit
        }
        audit?.record(
            peer: context.peer, method: context.path, reason: reason, status: status.code.name,
            atMs: failure.atMs)
    }
}

/// One method's `mesgate_grpc_calls_total` counters, one per status code, made on first use and
/// kept, so that a call costs a lock and an array index rather than a registry lookup; and the
/// logger its calls log with.
final class CallCounters: Sendable {
    let path: String
    let logger: Logger
    private let made = Mutex([Counter?](repeating: nil, count: 17))

    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    func counter(_ code: GRPCStatus.Code) -> Counter {
        made.withLock { made in
            if let counter = made[code.rawValue] { return counter }
            let counter = Counter(
                label: "mesgate_grpc_calls_total", dimensions: [("method", path), ("code", code.name)])
            made[code.rawValue] = counter
            return counter
        }
    }
}

/// Passes everything to the method's handler (none for a refused call: its status is sent
/// already and requests are ignored) and counts the call once, when it finishes (the writer's
/// `onFinish`) or is cancelled, logging it at debug level with its request id. On the call's
/// event loop.
final class ObservedCallHandler: GRPCCallHandler {
    var inner: (any GRPCCallHandler)?
    let counters: CallCounters
    let requestID: GRPCRequestID
    private var done = false

    init(counters: CallCounters, requestID: GRPCRequestID) {
        self.counters = counters
        self.requestID = requestID
    }

    func receive(_ message: ByteBuffer) { inner?.receive(message) }
    func endOfInput() { inner?.endOfInput() }
    func cancelled() {
        finished(.cancelled)
        inner?.cancelled()
    }

    func finished(_ code: GRPCStatus.Code) {
        guard !done else { return }
        done = true
        counters.counter(code).increment()
        counters.logger.debug(
            "grpc.call.finished",
            metadata: [
                "request_id": "\(requestID)", "grpc.method": "\(counters.path)",
                "grpc.status": "\(code.name)",
            ])
    }
}
