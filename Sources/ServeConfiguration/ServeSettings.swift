public import GenealogyStore
public import Logging
public import MESDomain

/// The resolved, checked options of `mesgate serve`.
public struct ServeSettings: Sendable {
    public typealias LogLevel = Logger.Level

    public var host = "127.0.0.1"
    public var port = 50051
    public var dataDirectory = "./mesgate-data"
    public var synchronous = StoreOptions.Synchronous.full
    public var maxMessageBytes = 4 * 1024 * 1024
    public var maxConcurrentStreams = 256
    public var queueCapacity = 16_384
    public var maxConnections = 1000
    public var maxConnectionsPerAddress = 100
    public var idleTimeoutSeconds = 300
    public var outputBudgetBytes = 128 << 20
    public var holdOnQualityFail = false
    /// How events are checked against Odoo's master data (`--master-data-rules`).
    public var masterDataRules = MasterDataRules()
    /// How far consumption may stray from the BoM (`--consumption-tolerance`).
    public var consumptionTolerance = ConsumptionTolerance()
    public var shutdownGraceSeconds = 10
    /// How long `PRAGMA quick_check` may read the store before serving; 0 skips it.
    public var startupCheckSeconds = 60
    /// Hours between two `PRAGMA integrity_check` runs while serving; 0 turns them off.
    public var integrityCheckHours = 24.0
    public var logLevel = LogLevel.info
    public var security = SecuritySettings()
    /// nil: no replication (a single plant).
    public var replication: ReplicationSettings?

    public init() {}

    /// `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback).
    public static func parseListen(_ text: String) throws(ConfigurationError) -> (String, Int) {
        guard let colon = text.lastIndex(of: ":") else {
            throw ConfigurationError("listen must be HOST:PORT, like 127.0.0.1:50051, not \(text)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "127.0.0.1" }
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ConfigurationError("listen port must be a number from 0 to 65535 in \(text)")
        }
        return (host, port)
    }
}
