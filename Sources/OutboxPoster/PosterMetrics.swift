import Metrics

/// The poster's metrics (swift-metrics), recorded on the poster thread.
enum PosterMetrics {
    /// Outbox rows settled, by outcome: posted, failed (to be retried), dead, resolved (dead rows a
    /// later posting made good).
    static let posted = Counter(label: "mesgate_odoo_postings_total", dimensions: [("outcome", "posted")])
    static let failed = Counter(label: "mesgate_odoo_postings_total", dimensions: [("outcome", "failed")])
    static let dead = Counter(label: "mesgate_odoo_postings_total", dimensions: [("outcome", "dead")])
    static let resolved = Counter(label: "mesgate_odoo_postings_total", dimensions: [("outcome", "resolved")])
    /// Odoo refused the key: posting pauses. Alert on any increase.
    static let authFailures = Counter(label: "mesgate_odoo_auth_failures_total")
    /// 1 while posting is paused after an auth failure.
    static let paused = Gauge(label: "mesgate_odoo_posting_paused")
    /// HTTP requests sent to Odoo by the poster.
    static let requests = Counter(label: "mesgate_odoo_requests_total")
    /// How long one posting took in Odoo: all the calls of one coalesced document, success or not.
    static let postingDuration = Timer(label: "mesgate_odoo_posting_duration_seconds")
}
