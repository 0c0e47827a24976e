import ArgumentParser
import Foundation
import GenealogyStore
import LotExport
import MESDomain

/// `mesgate lots`: find what the store knows by product, lot prefix, order, customer or date.
struct LotsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lots",
        abstract: "Find lots, serials and containers: by product, lot prefix, production order, customer, date.",
        discussion: """
            Reads the store in --data (also while a server runs on it). Every condition given must \
            hold; newest first (by when the store first saw it). Dates are local: 2026-12-04 or \
            2026-12-04T08:00, or ISO 8601 with an offset. Then: mesgate history / trace / hold.
            """
    )

    @OptionGroup var location: DataOption

    @Option(help: "Only this product.")
    var product = ""

    @Option(help: "The lot, serial or container starts with this.")
    var prefix = ""

    @Option(help: "Consumed into or made by this production order (e.g. WH/MO/00012).")
    var order = ""

    @Option(help: "Shipped to this customer.")
    var customer = ""

    @Option(help: "First seen at or after this date (local time).")
    var since: String?

    @Option(help: "First seen before this date (local time).")
    var until: String?

    @Option(help: "List at most this many (1-100000).")
    var limit = 100

    @Flag(help: "Answer as JSON.")
    var json = false

    func validate() throws {
        guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be 1 to 100000") }
        let from = try since.map { try Self.date($0, "--since") }
        let to = try until.map { try Self.date($0, "--until") }
        if let from, let to, from >= to {
            throw ValidationError("--since (\(since ?? "")) must be before --until (\(until ?? ""))")
        }
    }

    static func date(_ text: String, _ option: String) throws -> Int64 {
        guard let ms = MachineTime.parse(text) else {
            throw ValidationError("\(option) must be a date like 2026-12-04 or 2026-12-04T08:00, not \(text)")
        }
        return ms
    }

    func run() throws {
        var query = LotQuery()
        query.product = product
        query.prefix = prefix
        query.workOrder = order
        query.customer = customer
        query.sinceMs = try since.map { try Self.date($0, "--since") }
        query.untilMs = try until.map { try Self.date($0, "--until") }
        query.limit = limit
        let store = try StoreAccess.openExisting(
            location.data, access: .read, logger: StoreAccess.quietLogger("mesgate.lots"))
        defer { store.close() }
        let found = try store.lots(query)
        if json {
            try OutboxCommand.printJSON(
                found.map {
                    [
                        "product": $0.lot.product, "lot": $0.lot.lot, "serial": $0.lot.serial,
                        "container": $0.lot.container, "status": $0.status, "origin": $0.origin,
                        "first_seen": MachineTime.iso($0.firstSeenAtMs), "events": $0.events,
                    ] as [String: Any]
                })
            return
        }
        guard !found.isEmpty else {
            print("Nothing matches.")
            return
        }
        for summary in found {
            print(
                "\(summary.lot)  \(summary.status)  \(summary.origin), first seen \(MachineTime.text(summary.firstSeenAtMs)), \(summary.events) event(s)"
            )
        }
        if found.count == limit { print("(the first \(limit); --limit lists more)") }
    }
}
