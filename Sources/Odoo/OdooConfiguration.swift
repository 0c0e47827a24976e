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

    public init(url: String, database: String, login: String, apiKey: String) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.database = database
        self.login = login
        self.apiKey = apiKey
    }
}
