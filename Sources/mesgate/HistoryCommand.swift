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

/// Times as people read them: the machine's local date and time with its zone.
enum MachineTime {
    /// `2026-12-04 03:58:25 +01:00`.
    static func text(_ ms: Int64) -> String { LocalTime.machine(at: ms).readable(ms) }

    /// `2026-12-04T03:58:25.123+01:00`; `…Z` where the offset is zero (RFC 3339, as before).
    static func iso(_ ms: Int64) -> String {
        let zone = LocalTime.machine(at: ms)
        let text = zone.iso(ms)
        return zone.offsetMinutes == 0 ? text.dropLast(6) + "Z" : text
    }

    /// Reads `2026-12-04`, `2026-12-04T08:00`, `2026-12-04 08:00:00` (local time) or a full ISO 8601
    /// date-time with its offset; Unix milliseconds.
    static func parse(_ text: String) -> Int64? {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime]
        if let date = iso.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = iso.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = .current
        for pattern in [
            "yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm:ss",
        ] {
            format.dateFormat = pattern
            if let date = format.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
        }
        return nil
    }
}
