import GenealogyStore
import Logging

/// The resolved, checked options of `mesgate serve`.
struct ServeSettings {
    typealias LogLevel = Logger.Level

    var host = "127.0.0.1"
    var port = 50051
    var dataDirectory = "./mesgate-data"
    var synchronous = StoreOptions.Synchronous.full
    var maxMessageBytes = 4 * 1024 * 1024
    var maxConcurrentStreams = 256
    var queueCapacity = 16_384
    var maxConnections = 1000
    var maxConnectionsPerAddress = 100
    var idleTimeoutSeconds = 300
    var outputBudgetBytes = 128 << 20
    var holdOnQualityFail = false
    var shutdownGraceSeconds = 10
    /// How long `PRAGMA quick_check` may read the store before serving; 0 skips it.
    var startupCheckSeconds = 60
    /// Hours between two `PRAGMA integrity_check` runs while serving; 0 turns them off.
    var integrityCheckHours = 24.0
    var logLevel = LogLevel.info
    var security = SecuritySettings()

    /// `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback).
    static func parseListen(_ text: String) throws(ConfigurationError) -> (String, Int) {
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
