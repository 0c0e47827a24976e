internal import Configuration
public import Replication

/// `--replicate` and `--plant`: where a plant gateway replicates its store (issue 12).
public struct ReplicationSettings: Sendable {
    /// NATS server URLs (`nats://HOST:PORT`), tried in turn.
    public var servers: [String]
    public var plant: PlantName
    /// The hub's JetStream domain when `servers` is the plant's leaf node (nil: the same JetStream).
    public var hubDomain: String?

    public init(servers: [String], plant: PlantName, hubDomain: String? = nil) {
        self.servers = servers
        self.plant = plant
        self.hubDomain = hubDomain
    }
}

extension ServeOptions {
    func resolveReplication(_ reader: ConfigReader) throws(ConfigurationError) -> ReplicationSettings? {
        let url = replicate ?? reader.string(forKey: "replicate")
        let name = plant ?? reader.string(forKey: "plant")
        let domain = hubDomain ?? reader.string(forKey: "hub-domain")
        guard let url else {
            if name != nil { throw ConfigurationError("plant goes with replicate (the NATS server to replicate to)") }
            if domain != nil { throw ConfigurationError("hub-domain goes with replicate and plant") }
            return nil
        }
        // `"replicate": ""`: replication is off (a config file may keep the plant's name ready).
        if url.isEmpty { return nil }
        if let domain, domain.isEmpty || !domain.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            throw ConfigurationError(
                "hub-domain must be a JetStream domain name (letters, digits, '-', '_'), not \"\(domain)\"")
        }
        let servers = try Self.natsServers(url, option: "replicate")
        guard let name, !name.isEmpty else {
            throw ConfigurationError("replicate needs plant: the name this plant replicates under")
        }
        do {
            return ReplicationSettings(servers: servers, plant: try PlantName(name), hubDomain: domain)
        } catch {
            throw ConfigurationError("plant: \(error.description)")
        }
    }

    /// `nats://HOST:PORT[,nats://HOST:PORT...]`, checked.
    public static func natsServers(_ text: String, option: String) throws(ConfigurationError) -> [String] {
        let servers = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for server in servers {
            guard server.hasPrefix("nats://") || server.hasPrefix("tls://"),
                let colon = server.lastIndex(of: ":"), Int(server[server.index(after: colon)...]) != nil,
                server.distance(from: server.startIndex, to: colon) > 6
            else {
                throw ConfigurationError(
                    "\(option) must be nats://HOST:PORT (several separated by commas), not \(server)")
            }
        }
        guard !servers.isEmpty else { throw ConfigurationError("\(option) names no NATS server") }
        return servers
    }
}
