import ArgumentParser
import Foundation
import GenealogyStore
import Logging
import PlantExceptions

/// `mesgate exceptions`: stored events that need a person's attention (an unknown lot consumed or
/// shipped, ...), counted by kind and listed newest first. Reads the store directly.
struct ExceptionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exceptions",
        abstract: "Count and list the exceptions flagged in the store (events stored but doubtful)."
    )

    @OptionGroup var location: DataOption

    @Option(help: "How many of the newest exceptions to list.")
    var limit: Int = 50

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(
        help: """
            Mass balance tolerance per production order, a fraction of the quantity consumed (0.05: 5 %); \
            orders outside it are listed as mass_balance exceptions. Negative: skip the mass balance.
            """)
    var massBalanceTolerance: Double = 0.05

    func run() async throws {
        let store = try StoreAccess.openExisting(
            location.data, access: .read, logger: Logger(label: "mesgate.exceptions"))
        defer { store.close() }
        var counts = try store.exceptionCounts().merging(try store.refusedEventCounts()) { $0 + $1 }
        let listed = try store.exceptions(limit: max(0, limit))
        let refused = try store.refusedEvents(limit: max(0, limit))
        let balance =
            massBalanceTolerance < 0 ? [] : try MassBalance(tolerance: massBalanceTolerance).findings(in: store)
        if !balance.isEmpty { counts["mass_balance"] = balance.count }
        if json {
            let object: [String: Any] = [
                "counts": counts,
                "exceptions": listed.map {
                    [
                        "id": $0.id, "kind": $0.kind, "sequence": $0.sequence, "event_id": $0.eventID,
                        "detail": $0.detail, "created_at_ms": $0.createdAtMs,
                    ] as [String: Any]
                },
                "mass_balance": balance.prefix(max(0, limit)).map {
                    [
                        "work_order": $0.workOrder, "uom": $0.uom, "consumed": $0.consumed, "reported": $0.reported,
                        "sequence": $0.lastSequence, "detail": $0.detail,
                    ] as [String: Any]
                },
                "refused": refused.map {
                    [
                        "id": $0.id, "kind": $0.kind, "event_id": $0.eventID, "client": $0.client,
                        "detail": $0.detail, "created_at_ms": $0.createdAtMs,
                    ] as [String: Any]
                },
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        if counts.isEmpty {
            print("no exceptions")
            return
        }
        for (kind, count) in counts.sorted(by: { $0.key < $1.key }) { print("\(kind): \(count)") }
        print("")
        for x in listed {
            print(
                "#\(x.id) \(LocalTime.text(x.createdAtMs)) \(x.kind) event \(x.eventID) (sequence \(x.sequence)): \(x.detail)"
            )
        }
        // Refused events (a Shipped of a held item) are not stored as events: no sequence.
        for x in balance.prefix(max(0, limit)) { print("mass_balance \(x.detail)") }
        for x in refused {
            print(
                "refused #\(x.id) \(LocalTime.text(x.createdAtMs)) \(x.kind) event \(x.eventID) from \(x.client): \(x.detail)"
            )
        }
    }
}
