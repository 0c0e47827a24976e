/// Counts failed authentication attempts per remote host and throttles a host that failed too
/// often within a window, without locking out the good clients behind the same address (plants
/// sit behind NAT): while a host is throttled, only a valid credential that has already
/// authenticated from that host (within `knownClientTTL`) is admitted; unknown or new credentials
/// are refused until the host's oldest failure leaves the window. So guessing stays limited to
/// `maxFailures` attempts per window and host, and running MES lines keep publishing.
///
/// Not thread-safe: kept inside `AccessGuard`'s lock.
struct AuthFailureLimiter {
    /// Failures allowed per host within `window` before the host is throttled.
    var maxFailures: Int
    var window: Duration
    /// How long a client that authenticated from a host stays admitted there during a throttle.
    var knownClientTTL: Duration = .seconds(24 * 3600)
    /// At most this many hosts are remembered (failures and known clients each); the stalest
    /// are forgotten first.
    var maxHosts = 10_000
    /// At most this many clients are remembered per host.
    var maxClientsPerHost = 256
    private var failures: [String: [ContinuousClock.Instant]] = [:]
    /// Clients (token client names) that authenticated from each host, with when they last did.
    private var knownClients: [String: [String: ContinuousClock.Instant]] = [:]

    init(maxFailures: Int, window: Duration) {
        self.maxFailures = maxFailures
        self.window = window
    }

    /// The host part of a peer description like "[IPv4]127.0.0.1/127.0.0.1:50321".
    static func host(ofPeer peer: String) -> String {
        guard let colon = peer.lastIndex(of: ":") else { return peer }
        return String(peer[..<colon])
    }

    /// True while `host` has `maxFailures` failures or more within the window.
    mutating func isThrottled(_ host: String, now: ContinuousClock.Instant) -> Bool {
        guard var times = failures[host] else { return false }
        times.removeAll { now - $0 >= window }
        failures[host] = times.isEmpty ? nil : times
        return times.count >= maxFailures
    }

    /// Whether `client` authenticated from `host` within `knownClientTTL`.
    func isKnown(_ client: String, at host: String, now: ContinuousClock.Instant) -> Bool {
        guard let seen = knownClients[host]?[client] else { return false }
        return now - seen < knownClientTTL
    }

    /// Notes that `client` authenticated from `host`.
    mutating func recordSuccess(_ client: String, at host: String, now: ContinuousClock.Instant) {
        if knownClients[host] == nil && knownClients.count >= maxHosts {
            knownClients = knownClients.filter { _, clients in clients.values.contains { now - $0 < knownClientTTL } }
            if knownClients.count >= maxHosts, let stalest = Self.stalest(knownClients, newest: { $0.values.max() }) {
                knownClients[stalest] = nil
            }
        }
        var clients = knownClients[host] ?? [:]
        if clients[client] == nil && clients.count >= maxClientsPerHost,
            let oldest = clients.min(by: { $0.value < $1.value })
        {
            clients[oldest.key] = nil
        }
        clients[client] = now
        knownClients[host] = clients
    }

    /// Notes one failure of `host`.
    mutating func recordFailure(_ host: String, now: ContinuousClock.Instant) {
        if failures[host] == nil && failures.count >= maxHosts {
            failures = failures.filter { now - ($0.value.last ?? now) < window }
            if failures.count >= maxHosts, let stalest = Self.stalest(failures, newest: { $0.last }) {
                failures[stalest] = nil
            }
        }
        var times = failures[host] ?? []
        times.append(now)
        if times.count > maxFailures * 2 { times.removeFirst() }
        failures[host] = times
    }

    /// The key whose newest instant is the oldest.
    private static func stalest<Value>(
        _ entries: [String: Value], newest: (Value) -> ContinuousClock.Instant?
    ) -> String? {
        entries.min { (newest($0.value) ?? .now) < (newest($1.value) ?? .now) }?.key
    }
}
