public import ArgumentParser
internal import Configuration
public import Foundation
import GenealogyStore
import MESDomain
internal import SystemPackage

/// Options of `mesgate serve`. Each comes, in this order of precedence, from the command line,
/// a `MESGATE_*` environment variable, the `--config` JSON file, or its default.
public struct ServeOptions: ParsableArguments {
    public init() {}

    @Option(help: "Where to listen for gRPC over h2c, as HOST:PORT. [env: MESGATE_LISTEN] (default: 127.0.0.1:50051)")
    public var listen: String?

    @Option(
        help:
            "The folder holding the genealogy store; created if missing. [env: MESGATE_DATA] (default: ./mesgate-data)")
    public var data: String?

    @Option(
        help:
            "A JSON file of options, keys as the long option names: {\"listen\": \"127.0.0.1:50051\"}. [env: MESGATE_CONFIG]"
    )
    public var config: String?

    @Option(
        help:
            "SQLite durability: full (an ack survives power loss), normal (survives a crash of mesgate, not of the machine) or off. [env: MESGATE_SYNC] (default: full)"
    )
    public var sync: String?

    @Option(
        help:
            "The largest gRPC message accepted, in bytes; larger ones get RESOURCE_EXHAUSTED. [env: MESGATE_MAX_MESSAGE_BYTES] (default: 4194304)"
    )
    public var maxMessageBytes: Int?

    @Option(
        help:
            "HTTP/2 streams one connection may have open at once. [env: MESGATE_MAX_CONCURRENT_STREAMS] (default: 256)")
    public var maxConcurrentStreams: Int?

    @Option(
        help:
            "Connections open at once at most; one beyond it is closed at once. [env: MESGATE_MAX_CONNECTIONS] (default: 1000)"
    )
    var maxConnections: Int?

    @Option(
        help:
            "Connections open at once from one address at most (many lines may share a plant's NAT). [env: MESGATE_MAX_CONNECTIONS_PER_ADDRESS] (default: 100)"
    )
    var maxConnectionsPerAddress: Int?

    @Option(
        help:
            "Response bytes the server holds at most for clients that have not read them (all connections); beyond it streaming clients stop being read and large answers get RESOURCE_EXHAUSTED. [env: MESGATE_OUTPUT_BUDGET_BYTES] (default: 134217728)"
    )
    var outputBudgetBytes: Int?

    @Option(
        help:
            "Seconds a connection with no open call and no traffic stays open before GOAWAY. [env: MESGATE_IDLE_TIMEOUT_SECONDS] (default: 300)"
    )
    var idleTimeoutSeconds: Int?

    @Option(
        help:
            "Events the store may have queued for its writer; beyond it a stream waits (HTTP/2 flow control slows its client) and a unary Publish gets UNAVAILABLE. [env: MESGATE_QUEUE_CAPACITY] (default: 16384)"
    )
    public var queueCapacity: Int?

    @Option(
        help: "Seconds to let open streams finish after SIGTERM. [env: MESGATE_SHUTDOWN_GRACE_SECONDS] (default: 10)")
    public var shutdownGraceSeconds: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical. [env: MESGATE_LOG_LEVEL] (default: info)")
    public var logLevel: String?

    @Flag(
        help:
            "A QualityResult FAIL places a hold on its lot, propagated forward. [env: MESGATE_HOLD_ON_QUALITY_FAIL=true]"
    )
    public var holdOnQualityFail = false

    @Option(
        help:
            "How events are checked against Odoo's master data: RULE=MODE,... with RULE unknown_product, uom_mismatch, lot_on_untracked, missing_lot, unknown_work_center, duplicate_completion, material_shortage (record only) or all, MODE off, record (an exception; the event is stored) or refuse (REJECTED). [env: MESGATE_MASTER_DATA_RULES] (default: all=record)"
    )
    public var masterDataRules: String?

    @Option(
        help:
            "How far an order's consumption of a component may stray from its BoM before it is an exception: 5%, and per component BOLT=10% or BoM line PUMP>SEAL=2%; off checks nothing (BOLT=off: not that component). [env: MESGATE_CONSUMPTION_TOLERANCE] (default: 5%)"
    )
    public var consumptionTolerance: String?

    @Option(
        help:
            "Token file: one line per token, <client-name> <role> sha256:<hex>; reloaded on SIGHUP. Without it, no authentication (loopback development only). [env: MESGATE_TOKENS]"
    )
    public var tokens: String?

    @Option(help: "PEM certificate chain for TLS (ALPN h2, TLS 1.2+); without it, h2c. [env: MESGATE_TLS_CERT]")
    public var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert. [env: MESGATE_TLS_KEY]")
    public var tlsKey: String?

    @Option(
        help:
            "PEM CA certificates: when given, clients must present a certificate signed by one. [env: MESGATE_TLS_CLIENT_CA]"
    )
    public var tlsClientCa: String?

    @Option(
        help:
            "Where the admin HTTP/1.1 listener (/metrics, /healthz, /readyz, status page) listens, HOST:PORT, or \"off\". [env: MESGATE_ADMIN_LISTEN] (default: 127.0.0.1:9464)"
    )
    public var adminListen: String?

    @Option(
        help:
            "Who may read the admin listener's status page and /metrics: none (anyone who reaches the port) or token (an admin token from --tokens as 'authorization: Bearer'); /healthz and /readyz stay open. [env: MESGATE_ADMIN_AUTH] (default: none)"
    )
    var adminAuth: String?

    @Option(help: "Log lines as json (one object per line) or text. [env: MESGATE_LOG_FORMAT] (default: text)")
    public var logFormat: String?

    @Option(
        help:
            "Seconds SQLite's quick_check and integrity_check(events) may read the store before serving (a damaged store is refused); past it, serve anyway; 0 skips the check. [env: MESGATE_STARTUP_CHECK_SECONDS] (default: 60)"
    )
    var startupCheckSeconds: Int?

    @Option(
        help:
            "Hours between full integrity checks of the store while serving (damage: readiness 503); decimals allowed; 0 turns them off. [env: MESGATE_INTEGRITY_CHECK_HOURS] (default: 24)"
    )
    var integrityCheckHours: Double?

    @Option(
        help:
            "Replicate every stored event, hold and release to NATS JetStream at this URL (nats://HOST:PORT; several separated by commas), as --plant; the stream is created when missing. [env: MESGATE_REPLICATE]"
    )
    public var replicate: String?

    @Option(
        help:
            "This plant's name for --replicate: letters, digits, '-' and '_' (it names the JetStream stream); a store serves one plant for good. [env: MESGATE_PLANT]"
    )
    public var plant: String?

    @Option(
        name: .customLong("hub-domain"),
        help:
            "The hub's JetStream domain, when --replicate names this plant's own leaf node: the hub's holds and recalls for this plant are taken from there. Leave out when --replicate is the hub's JetStream itself. [env: MESGATE_HUB_DOMAIN]"
    )
    public var hubDomain: String?

    /// Every key a config file may hold, and whether its value is text or a whole number.
    public static let keys: [String: ConfigFileCheck.ValueType] = [
        "listen": .string, "data": .string, "sync": .string, "log-level": .string,
        "max-message-bytes": .integer, "max-concurrent-streams": .integer, "queue-capacity": .integer,
        "max-connections": .integer, "max-connections-per-address": .integer, "idle-timeout-seconds": .integer,
        "output-budget-bytes": .integer,
        "shutdown-grace-seconds": .integer, "hold-on-quality-fail": .boolean, "startup-check-seconds": .integer,
        "master-data-rules": .string, "consumption-tolerance": .string,
        "integrity-check-hours": .number, "replicate": .string, "plant": .string, "hub-domain": .string,
    ].merging(securityKeys, uniquingKeysWith: { first, _ in first })

    /// The options resolved against the environment and the config file, checked.
    public func resolve(environment: [String: String] = ProcessInfo.processInfo.environment)
        async throws(ConfigurationError)
        -> ServeSettings
    {
        var providers: [any ConfigProvider] = [
            EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "mesgate")
        ]
        if let path = config ?? environment["MESGATE_CONFIG"] {
            try ConfigFileCheck.check(path: path, allowedKeys: Self.keys.merging(OdooOptions.keys) { a, _ in a })
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(path)))
            } catch {
                throw ConfigurationError("cannot read config file \(path): \(error)")
            }
        }
        let reader = ConfigReader(providers: providers)
        var settings = ServeSettings()
        let listenText = listen ?? reader.string(forKey: "listen") ?? "127.0.0.1:50051"
        (settings.host, settings.port) = try ServeSettings.parseListen(listenText)
        settings.dataDirectory = data ?? reader.string(forKey: "data") ?? "./mesgate-data"
        let syncText = sync ?? reader.string(forKey: "sync") ?? "full"
        guard let synchronous = StoreOptions.Synchronous(rawValue: syncText) else {
            throw ConfigurationError("sync must be full, normal or off, not \(syncText)")
        }
        settings.synchronous = synchronous
        settings.maxMessageBytes = try positive(
            "max-message-bytes", maxMessageBytes, reader, default: settings.maxMessageBytes)
        settings.maxConcurrentStreams = try positive(
            "max-concurrent-streams", maxConcurrentStreams, reader, default: settings.maxConcurrentStreams)
        settings.queueCapacity = try positive("queue-capacity", queueCapacity, reader, default: settings.queueCapacity)
        settings.maxConnections = try positive(
            "max-connections", maxConnections, reader, default: settings.maxConnections)
        settings.maxConnectionsPerAddress = try positive(
            "max-connections-per-address", maxConnectionsPerAddress, reader,
            default: settings.maxConnectionsPerAddress)
        settings.outputBudgetBytes = try positive(
            "output-budget-bytes", outputBudgetBytes, reader, default: settings.outputBudgetBytes)
        settings.idleTimeoutSeconds = try positive(
            "idle-timeout-seconds", idleTimeoutSeconds, reader, default: settings.idleTimeoutSeconds)
        settings.shutdownGraceSeconds = try positive(
            "shutdown-grace-seconds", shutdownGraceSeconds, reader, default: settings.shutdownGraceSeconds)
        let level = logLevel ?? reader.string(forKey: "log-level") ?? "info"
        guard let logLevel = ServeSettings.LogLevel(rawValue: level) else {
            throw ConfigurationError("log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        settings.logLevel = logLevel
        let holdOnFail: Bool
        if let value = reader.bool(forKey: "hold-on-quality-fail") {
            holdOnFail = value  // a JSON true or false in the file
        } else {
            let holdText = reader.string(forKey: "hold-on-quality-fail") ?? "false"
            guard let value = ["true": true, "false": false, "1": true, "0": false][holdText] else {
                throw ConfigurationError("hold-on-quality-fail must be true or false, not \(holdText)")
            }
            holdOnFail = value
        }
        settings.holdOnQualityFail = holdOnQualityFail || holdOnFail
        do throws(MasterDataRulesError) {
            settings.masterDataRules = try MasterDataRules(
                parsing: masterDataRules ?? reader.string(forKey: "master-data-rules") ?? "")
        } catch {
            throw ConfigurationError("master-data-rules: \(error)")
        }
        do throws(MasterDataRulesError) {
            settings.consumptionTolerance = try ConsumptionTolerance(
                parsing: consumptionTolerance ?? reader.string(forKey: "consumption-tolerance") ?? "5%")
        } catch {
            throw ConfigurationError("consumption-tolerance: \(error)")
        }
        settings.startupCheckSeconds = Int(
            try notNegative(
                "startup-check-seconds", startupCheckSeconds.map(Double.init), reader,
                default: Double(settings.startupCheckSeconds), whole: true))
        settings.integrityCheckHours = try notNegative(
            "integrity-check-hours", integrityCheckHours, reader, default: settings.integrityCheckHours, whole: false)
        try resolveSecurity(into: &settings, reader)
        settings.replication = try resolveReplication(reader)
        return settings
    }

    /// A number option that must be >= 0 (a whole one when `whole`); present but not a number is an error.
    private func notNegative(_ key: String, _ flag: Double?, _ reader: ConfigReader, default value: Double, whole: Bool)
        throws(ConfigurationError) -> Double
    {
        var resolved =
            flag ?? reader.double(forKey: ConfigKey(key)) ?? reader.int(forKey: ConfigKey(key)).map(Double.init)
        if resolved == nil, let text = reader.string(forKey: ConfigKey(key)) {
            guard let number = Double(text) else { throw ConfigurationError("\(key) must be a number, not \(text)") }
            resolved = number
        }
        guard let resolved else { return value }
        guard resolved >= 0, resolved.isFinite else { throw ConfigurationError("\(key) must be 0 or more") }
        guard !whole || resolved == resolved.rounded() else {
            throw ConfigurationError("\(key) must be a whole number")
        }
        return resolved
    }

    /// An integer option that must be > 0; a value that is present but not a number is an error.
    private func positive(_ key: String, _ flag: Int?, _ reader: ConfigReader, default value: Int)
        throws(ConfigurationError) -> Int
    {
        let resolved: Int
        if let flag {
            resolved = flag
        } else if let number = reader.int(forKey: ConfigKey(key)) {
            resolved = number
        } else if let text = reader.string(forKey: ConfigKey(key)) {
            guard let number = Int(text) else { throw ConfigurationError("\(key) must be a whole number, not \(text)") }
            resolved = number
        } else {
            return value
        }
        guard resolved > 0 else { throw ConfigurationError("\(key) must be greater than 0") }
        return resolved
    }
}

/// A configuration problem, told to the user in one line.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Refuses a config file that is not a JSON object of known keys with values of the right type,
/// so that a typo or a mistake is not silently replaced by a default.
public enum ConfigFileCheck {
    public enum ValueType: Sendable {
        /// `boolean`: JSON `true` or `false`, or the strings "true" and "false".
        case string, integer, number, boolean
    }

    public static func check(path: String, allowedKeys: [String: ValueType]) throws(ConfigurationError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read config file \(path)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ConfigurationError("config file \(path) is not a JSON object")
        }
        let unknown = object.keys.filter { allowedKeys[$0] == nil }.sorted()
        if !unknown.isEmpty {
            throw ConfigurationError(
                "config file \(path) has unknown keys: \(unknown.joined(separator: ", ")); known: \(allowedKeys.keys.sorted().joined(separator: ", "))"
            )
        }
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            switch allowedKeys[key] {
            case .string where !(value is String):
                throw ConfigurationError("config file \(path): \(key) must be a string")
            case .integer where (value as? NSNumber).map({ Int(exactly: $0.doubleValue) == nil || $0 is Bool }) ?? true:
                throw ConfigurationError("config file \(path): \(key) must be a whole number")
            case .number where (value as? NSNumber).map({ $0 is Bool || !$0.doubleValue.isFinite }) ?? true:
                throw ConfigurationError("config file \(path): \(key) must be a number")
            case .boolean where !(value is Bool || ["true", "false"].contains(value as? String)):
                throw ConfigurationError("config file \(path): \(key) must be true or false")
            default:
                continue
            }
        }
    }
}
