import ArgumentParser
import Foundation
import GenealogyStore
import Logging
import LotExport
import MESDomain
import MESMessages
import PlantExceptions

/// `mesgate exceptions`: deviations that need a person's attention (an unknown lot consumed, a
/// machine stopped, a failed check, ...), counted by kind, the ones not closed listed newest first
/// with their state. Reads the store directly. `ack` and `close` act on one (audited).
struct ExceptionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exceptions",
        abstract:
            "Count and list the exceptions (deviations stored for a person to look at); acknowledge or close one.",
        subcommands: [ExceptionsListCommand.self, AcknowledgeCommand.self, CloseCommand.self],
        defaultSubcommand: ExceptionsListCommand.self
    )
}

/// `mesgate exceptions [list]`: the counts by kind and the exceptions not closed, newest first.
struct ExceptionsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Count the exceptions by kind and list those not closed, newest first, with their state."
    )

    @OptionGroup var location: DataOption

    @Option(help: "How many of the newest exceptions to list.")
    var limit: Int = 50

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "List closed exceptions too.")
    var all = false

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
        let listed = try store.exceptionList(includeClosed: all, limit: max(0, limit))
        let refused = try store.refusedEvents(limit: max(0, limit))
        let balance =
            massBalanceTolerance < 0 ? [] : try MassBalance(tolerance: massBalanceTolerance).findings(in: store)
        if !balance.isEmpty { counts["mass_balance"] = balance.count }
        if json {
            let object: [String: Any] = [
                "counts": counts,
                "exceptions": listed.map(ExceptionsCommand.object),
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
        for x in listed { print(ExceptionsCommand.line(x)) }
        // Refused events (a Shipped of a held item) are not stored as events: no sequence.
        for x in balance.prefix(max(0, limit)) { print("mass_balance \(x.detail)") }
        for x in refused {
            print(
                "refused #\(x.id) \(MachineTime.text(x.createdAtMs)) \(x.kind) event \(x.eventID) from \(x.client): \(x.detail)"
            )
        }
    }
}

extension ExceptionsCommand {
    /// One exception as the list shows it: `#7 <time> open machine_stopped event d1 (sequence 12) order MO7: ...`.
    static func line(_ x: PlantException) -> String {
        let event = x.eventID.isEmpty ? "(no event)" : "event \(x.eventID) (sequence \(x.sequence))"
        var out = "#\(x.id) \(MachineTime.text(x.createdAtMs)) \(x.state.rawValue) \(x.kind) \(event)"
        if !x.workOrder.isEmpty { out += " order \(x.workOrder)" }
        out += ": \(x.detail)"
        if let at = x.acknowledgedAtMs {
            out += "\n    acknowledged \(MachineTime.text(at)) by \(x.acknowledgedBy): \(x.acknowledgeReason)"
        }
        if let at = x.closedAtMs { out += "\n    closed \(MachineTime.text(at)) by \(x.closedBy): \(x.closeReason)" }
        return out
    }

    static func object(_ x: PlantException) -> [String: Any] {
        [
            "id": x.id, "kind": x.kind, "state": x.state.rawValue, "latency": x.latency, "sequence": x.sequence,
            "event_id": x.eventID, "work_order": x.workOrder, "work_center": x.workCenter, "lot": x.lot,
            "detail": x.detail, "action": x.action, "created_at_ms": x.createdAtMs,
            "acknowledged_at_ms": x.acknowledgedAtMs ?? 0, "acknowledged_by": x.acknowledgedBy,
            "acknowledge_reason": x.acknowledgeReason, "closed_at_ms": x.closedAtMs ?? 0, "closed_by": x.closedBy,
            "close_reason": x.closeReason,
        ]
    }
}
