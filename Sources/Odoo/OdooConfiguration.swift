/// Where Odoo is and how to talk to it.
public struct OdooConfiguration: Sendable, Hashable {
    /// Base URL, e.g. `https://erp.example.com` (no trailing path).
    public var url: String
    public var database: String
    public var login: String
    /// The API key (JSON-2 bearer key; the password argument of JSON-RPC).
    public var apiKey: String
    public var connectTimeoutMs = 5_000
    /// Bounds a whole call, answer included.
    public var timeoutMs = 30_000
    /// TLS certificate and host verification; on unless a test turns it off.
    public var verifyTLS = true
    /// The largest answer body read; a longer one fails the call (retryable) instead of growing
    /// the poster's memory without bound (a proxy's error page, a search without a limit).
    public var maxResponseBytes = OdooConfiguration.defaultMaxResponseBytes
    /// 64 MiB: far above any answer mesgate asks for (a page of released orders is kilobytes).
    public static let defaultMaxResponseBytes = 64 * 1024 * 1024

    public init(url: String, database: String, login: String, apiKey: String) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.database = database
        self.login = login
        self.apiKey = apiKey
    }
}
