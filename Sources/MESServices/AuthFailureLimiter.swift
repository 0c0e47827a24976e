/// Counts failed authentication attempts per remote host and refuses a host that failed too
/// often within a window, until its oldest failure leaves the window. Not thread-safe: kept
/// inside `AccessGuard`'s lock.
struct AuthFailureLimiter {
    /// Failures allowed per host within `window` before the host is refused.
    var maxFailures: Int
    var window: Duration
    /// At most this many hosts are remembered; the stalest are forgotten first.
    var maxHosts = 10_000
    private var failures: [String: [ContinuousClock.Instant]] = [:]

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
    mutating func isLockedOut(_ host: String, now: ContinuousClock.Instant) -> Bool {
        guard var times = failures[host] else { return false }
        times.removeAll { now - $0 >= window }
        failures[host] = times.isEmpty ? nil : times
        return times.count >= maxFailures
    }

    /// Notes one failure of `host`.
    mutating func recordFailure(_ host: String, now: ContinuousClock.Instant) {
        if failures[host] == nil && failures.count >= maxHosts {
            failures = failures.filter { now - ($0.value.last ?? now) < window }
            let newest = { (times: [ContinuousClock.Instant]) in times.last ?? now }
            if failures.count >= maxHosts, let stalest = failures.min(by: { newest($0.value) < newest($1.value) }) {
                failures[stalest.key] = nil
            }
        }
        var times = failures[host] ?? []
        times.append(now)
        if times.count > maxFailures * 2 { times.removeFirst() }
        failures[host] = times
    }
}
