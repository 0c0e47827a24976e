import ArgumentParser
import Foundation
import Replication
import ServeConfiguration

/// `mesgate hub`: the enterprise hub, every plant's stream applied into one genealogy store.
struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract: "Serve the enterprise genealogy: every plant's replicated events, traced across plants.",
        discussion: """
            Takes every plant stream (MESGATE_PLANT_<name>) on the JetStream of --nats into the store in \
            --data, once per plant and plant sequence, in each plant's order, and answers Genealogy and \
            Quality over all plants; EventIngest, WorkOrders and MasterData are refused (they are each plant's: \
            call the plant's gateway, started with serve --replicate). With --plant-domain NAME=DOMAIN the hub first makes \
            a mirror (--replicas copies) of a plant stream that lives in a leaf node's JetStream domain.
            """
    )

    @OptionGroup var options: ServeOptions

    @Option(
        help:
            "The hub's JetStream (nats://HOST:PORT; several separated by commas, the nodes of its cluster). [env: MESGATE_NATS]"
    )
    var nats: String?

    @Option(
        name: .customLong("plant-domain"),
        help:
            "NAME=DOMAIN: plant NAME's stream lives in JetStream domain DOMAIN (its leaf node); mirror it. Repeatable."
    )
    var plantDomains: [String] = []

    @Option(help: "Copies of each plant mirror on the hub's JetStream cluster (1-5; 3 on a 3-node cluster).")
    var replicas = 1

    @Option(
        help:
            "Only these plants (NAME,NAME,...): a hub shard serving one plant group over a shared JetStream (deploy/SCALE.md). Default: every plant stream it finds."
    )
    var plants: String?

    func run() async throws {
        let settings: ServeSettings
        var hub = HubOptions()
        let servers: [String]
        do {
            settings = try await options.resolve()
            guard settings.replication == nil else {
                throw ConfigurationError("the hub replicates nothing: --replicate and --plant are for plant gateways")
            }
            guard let nats = nats ?? ProcessInfo.processInfo.environment["MESGATE_NATS"], !nats.isEmpty else {
                throw ConfigurationError("hub needs --nats: the JetStream server(s) the plants replicate to")
            }
            servers = try ServeOptions.natsServers(nats, option: "nats")
            guard (1...5).contains(replicas) else {
                throw ConfigurationError("replicas must be 1 to 5, not \(replicas)")
            }
            hub.replicas = replicas
            if let plants {
                var names: Set<String> = []
                for text in plants.split(separator: ",") {
                    do {
                        names.insert(try PlantName(text.trimmingCharacters(in: .whitespaces)).name)
                    } catch {
                        throw ConfigurationError("plants: \(error.description)")
                    }
                }
                guard !names.isEmpty else { throw ConfigurationError("plants names no plant") }
                hub.plants = names
            }
            hub.mirrors = try plantDomains.map { text throws(ConfigurationError) in
                let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[1].isEmpty, let plant = try? PlantName(parts[0]) else {
                    throw ConfigurationError(
                        "plant-domain must be NAME=DOMAIN (a plant name and its leaf node's JetStream domain), not \(text)"
                    )
                }
                return PlantSource(plant: plant, domain: parts[1])
            }
        } catch {
            throw ServeCommand.fail("\(error)")
        }
        try await ServeCommand.runGateway(settings, role: .hub(servers: servers, options: hub))
    }
}
