public import ArgumentParser
internal import Configuration
public import Foundation
import Odoo
public import OutboxPoster
internal import SystemPackage

/// Options of the Odoo poster (`mesgate serve`, `mesgate reconcile`). Like every option: command
/// line, then `MESGATE_ODOO_*`, then the `--config` file (keys as the long option names).
/// Without a URL, posting is off and the outbox simply accumulates.
public struct OdooOptions: ParsableArguments {
    public init() {}

    @Option(
        help: "Odoo's base URL, e.g. https://erp.example.com; without it nothing is posted. [env: MESGATE_ODOO_URL]")
    public var odooURL: String?

    @Option(help: "The Odoo database. [env: MESGATE_ODOO_DB]")
    public var odooDb: String?

    @Option(help: "The Odoo user that posts (JSON-RPC login). [env: MESGATE_ODOO_LOGIN]")
    public var odooLogin: String?

    @Option(help: "The Odoo API key of that user. [env: MESGATE_ODOO_API_KEY]")
    public var odooApiKey: String?

    @Option(help: "Bound of one Odoo call, in milliseconds. [env: MESGATE_ODOO_TIMEOUT_MS] (default: 30000)")
    public var odooTimeoutMs: Int?

    @Option(
        help:
            "How long production and consumption wait to be coalesced per order, in ms. [env: MESGATE_ODOO_COALESCE_MS] (default: 2000)"
    )
    public var odooCoalesceMs: Int?

    @Option(
        help: "First retry delay after a transient failure, in ms. [env: MESGATE_ODOO_RETRY_BASE_MS] (default: 1000)")
    public var odooRetryBaseMs: Int?

    @Option(
        help:
            "How long posting pauses after Odoo refused the key, in ms. [env: MESGATE_ODOO_AUTH_PAUSE_MS] (default: 60000)"
    )
    public var odooAuthPauseMs: Int?

    @Option(help: "Longest retry delay, in ms. [env: MESGATE_ODOO_RETRY_MAX_MS] (default: 300000)")
    public var odooRetryMaxMs: Int?

    @Option(
        help:
            "How often released production orders are read from Odoo, in ms. [env: MESGATE_ODOO_RELEASE_POLL_MS] (default: 10000)"
    )
    public var odooReleasePollMs: Int?

    @Option(
        help:
            "How often master data (products, BoMs and routings, work centers, units of measure) is read from Odoo, in ms. [env: MESGATE_ODOO_MASTERDATA_POLL_MS] (default: 60000)"
    )
    public var odooMasterdataPollMs: Int?

    @Option(
        help:
            "Latency class per event kind, overriding the defaults: e.g. quality=batch,scrapped=immediate (classes: immediate, normal, batch). [env: MESGATE_ODOO_LATENCY]"
    )
    public var odooLatency: String?

    @Option(
        help:
            "Which quality results become notes on the lot in Odoo: all, failures (FAIL and WARN) or none. [env: MESGATE_ODOO_QUALITY_NOTES] (default: all)"
    )
    public var odooQualityNotes: String?

    @Option(
        help:
            "How quality holds reach Odoo: activity (a Quality hold activity on each held lot, done on release) or none. [env: MESGATE_ODOO_HOLDS] (default: activity)"
    )
    public var odooHolds: String?

    @Option(
        help:
            "When the plant completes an order with less than planned: close it (no) or keep a backorder for the rest (yes). [env: MESGATE_ODOO_BACKORDERS] (default: no)"
    )
    public var odooBackorders: String?

    /// Config-file keys these options add.
    public static let keys: [String: ConfigFileCheck.ValueType] = [
        "odoo-url": .string, "odoo-db": .string, "odoo-login": .string, "odoo-api-key": .string,
        "odoo-timeout-ms": .integer, "odoo-coalesce-ms": .integer, "odoo-retry-base-ms": .integer,
        "odoo-auth-pause-ms": .integer, "odoo-retry-max-ms": .integer, "odoo-release-poll-ms": .integer,
        "odoo-masterdata-poll-ms": .integer,
        "odoo-latency": .string, "odoo-quality-notes": .string, "odoo-backorders": .string,
        "odoo-holds": .string,
    ]

    /// The poster's configuration, or nil when no Odoo URL is configured.
    public func resolve(configPath: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        async throws(ConfigurationError) -> PosterConfiguration?
    {
        var providers: [any ConfigProvider] = [
            EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "mesgate")
        ]
        if let path = configPath ?? environment["MESGATE_CONFIG"] {
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(path)))
            } catch {
                throw ConfigurationError("cannot read config file \(path): \(error)")
            }
        }
        let reader = ConfigReader(providers: providers)
        guard let url = odooURL ?? reader.string(forKey: "odoo-url"), !url.isEmpty else { return nil }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw ConfigurationError("odoo-url must start with http:// or https://, not \(url)")
        }
        func text(_ flag: String?, _ key: String) throws(ConfigurationError) -> String {
            guard let value = flag ?? reader.string(forKey: ConfigKey(key)), !value.isEmpty else {
                throw ConfigurationError("\(key) is needed with odoo-url")
            }
            return value
        }
        func number(_ flag: Int?, _ key: String, _ value: Int) throws(ConfigurationError) -> Int {
            let resolved =
                flag ?? reader.int(forKey: ConfigKey(key)) ?? reader.string(forKey: ConfigKey(key)).flatMap { Int($0) }
                ?? value
            guard resolved > 0 else { throw ConfigurationError("\(key) must be greater than 0") }
            return resolved
        }
        let odoo = OdooConfiguration(
            url: url, database: try text(odooDb, "odoo-db"), login: try text(odooLogin, "odoo-login"),
            apiKey: try text(odooApiKey, "odoo-api-key"))
        var configuration = PosterConfiguration(odoo: odoo)
        configuration.odoo.timeoutMs = try number(odooTimeoutMs, "odoo-timeout-ms", configuration.odoo.timeoutMs)
        configuration.coalesceMs = Int64(try number(odooCoalesceMs, "odoo-coalesce-ms", Int(configuration.coalesceMs)))
        configuration.retryBaseMs = Int64(
            try number(odooRetryBaseMs, "odoo-retry-base-ms", Int(configuration.retryBaseMs)))
        configuration.retryMaxMs = Int64(try number(odooRetryMaxMs, "odoo-retry-max-ms", Int(configuration.retryMaxMs)))
        configuration.releasePollMs = Int64(
            try number(odooReleasePollMs, "odoo-release-poll-ms", Int(configuration.releasePollMs)))
        configuration.masterDataPollMs = Int64(
            try number(odooMasterdataPollMs, "odoo-masterdata-poll-ms", Int(configuration.masterDataPollMs)))
        for pair in (odooLatency ?? reader.string(forKey: "odoo-latency") ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
            let kinds = ["produced", "consumed", "operation", "scrapped", "downtime", "quality"]
            guard parts.count == 2, kinds.contains(parts[0]), ["immediate", "normal", "batch"].contains(parts[1]) else {
                throw ConfigurationError(
                    "odoo-latency must be KIND=CLASS,... with kinds \(kinds.joined(separator: ", ")) and classes immediate, normal, batch; not \(pair)"
                )
            }
            configuration.latencyByKind[parts[0]] = parts[1]
        }
        let notes = odooQualityNotes ?? reader.string(forKey: "odoo-quality-notes") ?? "all"
        guard ["all", "failures", "none"].contains(notes) else {
            throw ConfigurationError("odoo-quality-notes must be all, failures or none, not \(notes)")
        }
        configuration.qualityNotes = notes
        let holds = odooHolds ?? reader.string(forKey: "odoo-holds") ?? "activity"
        guard ["activity", "none"].contains(holds) else {
            throw ConfigurationError("odoo-holds must be activity or none, not \(holds)")
        }
        configuration.holdPosting = holds
        switch odooBackorders ?? reader.string(forKey: "odoo-backorders") ?? "no" {
        case "yes": configuration.keepBackorders = true
        case "no": configuration.keepBackorders = false
        case let other: throw ConfigurationError("odoo-backorders must be yes or no, not \(other)")
        }
        configuration.authPauseMs = Int64(
            try number(odooAuthPauseMs, "odoo-auth-pause-ms", Int(configuration.authPauseMs)))
        return configuration
    }
}
