import ArgumentParser
import Foundation
import GenealogyStore
import LotExport
import MESDomain
import MESMessages

/// `mesgate history`: every event naming a lot, serial or container, oldest first, from the store
/// (`--data`) or a running server (`--server`, Genealogy.LotHistory).
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List every event naming a lot, serial or container, in the order they were stored.",
        discussion: """
            Each line: when it was stored (local time), the store's sequence, what happened, the \
            quantity, where, the event id and who sent it. --json gives the same as JSON.
            """
    )

    @OptionGroup var location: DataOption
    @OptionGroup var remote: ServerOptions
    @OptionGroup var lotOptions: LotOptions

    @Flag(help: "Answer as JSON.")
    var json = false

    func validate() throws { try remote.validate(with: location) }

    func run() async throws {
        let lot = lotOptions.ref
        let entries = remote.server != nil ? try await call(lot) : try local(lot)
        if json {
            try OutboxCommand.printJSON(
                entries.map { entry -> [String: Any] in
                    let (what, quantity, place) = Self.words(entry)
                    return [
                        "sequence": entry.sequence, "recorded_at": MachineTime.iso(entry.recordedAtMs),
                        "recorded_at_ms": entry.recordedAtMs, "client": entry.client, "plant": entry.plant,
                        "event_id": entry.event?.eventID ?? "", "what": what, "qty": quantity, "where": place,
                        "corrected": entry.correction.map { c -> [String: Any] in
                            [
                                "correction_id": c.id, "reason": c.reason, "by": c.by,
                                "at": MachineTime.iso(c.atMs), "replacement_event_id": c.replacementEventID,
                            ]
                        } ?? NSNull(),
                        "corrects_event_id": entry.corrects,
                    ]
                })
            return
        }
        print("History of \(lot): \(entries.count) event(s)")
        for entry in entries {
            let (what, quantity, place) = Self.words(entry)
            var line = "\(MachineTime.text(entry.recordedAtMs))  #\(entry.sequence)  \(what)"
            if !quantity.isEmpty { line += ", \(quantity)" }
            if !place.isEmpty { line += " at \(place)" }
            line += "  [\(entry.event?.eventID ?? "?") from \(entry.client)]"
            if !entry.corrects.isEmpty { line += "  (replaces \(entry.corrects))" }
            print(line)
            if let c = entry.correction {
                let what = c.isVoid ? "VOIDED" : "REPLACED by \(c.replacementEventID)"
                print("      \(what): correction \(c.id) by \(c.by) at \(MachineTime.text(c.atMs)): \(c.reason)")
            }
        }
    }

    /// One event of the history, decoded.
    struct Line {
        var sequence: Int64
        var recordedAtMs: Int64
        var client: String
        var plant: String
        var correction: CorrectionMark? = nil
        var corrects = ""
        var event: Event?
    }

    static func words(_ entry: Line) -> (String, String, String) {
        guard let event = entry.event else { return ("(an event this mesgate cannot read)", "", "") }
        return HTMLReport.describe(event, plant: event.plant.isEmpty ? entry.plant : event.plant)
    }

    private func local(_ lot: LotRef) throws -> [Line] {
        let store = try StoreAccess.openExisting(
            location.data, access: .read, hint: "give --data DIR or --server HOST:PORT",
            logger: StoreAccess.quietLogger("mesgate.history"))
        defer { store.close() }
        guard let events = try store.lotHistory(lot) else { throw ServeCommand.fail("\(lot): not found") }
        return events.map {
            Line(
                sequence: $0.sequence, recordedAtMs: $0.recordedAtMs, client: $0.client, plant: $0.plant,
                correction: $0.correction, corrects: $0.corrects, event: EventCodec.stored($0.raw))
        }
    }

    private func call(_ lot: LotRef) async throws -> [Line] {
        let reply = try await remote.call("/mes.v1.Genealogy/LotHistory", HistoryCodec.encodeLotRef(lot))
        guard reply.status == 0 else { throw ServeCommand.fail("LotHistory failed: \(reply.statusText)") }
        return try reply.messages.map { message in
            let entry = try message.withUnsafeBytes { bytes throws(MessageDecodingError) in
                try HistoryCodec.decodeEntry(bytes)
            }
            return Line(
                sequence: entry.sequence, recordedAtMs: entry.recordedAtMs, client: entry.client, plant: entry.plant,
                correction: entry.correction, corrects: entry.corrects, event: EventCodec.stored(entry.rawEvent))
        }
    }
}
