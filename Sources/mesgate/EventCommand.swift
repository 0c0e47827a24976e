import ArgumentParser
import Foundation
import GenealogyStore
import MESDomain
import MESMessages

/// `mesgate event void|correct`: corrections of a stored event (EventIngest/Correct), on a running
/// server (`--server`, role `mes` or `admin`) or on the store in `--data` while no server runs on it.
struct EventCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event",
        abstract: "Void a wrong stored event, or replace it by a corrected one.",
        discussion: """
            The original stays stored and shows in `mesgate history`, marked with who corrected it, \
            when and why; it no longer counts in the genealogy (its links, receipt or shipment) nor \
            in the totals posted to Odoo (its order's totals are posted again). Audited.
            """,
        subcommands: [VoidCommand.self, CorrectCommand.self]
    )

    struct VoidCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "void", abstract: "Void a stored event: it stays stored, marked, and no longer counts.")

        @OptionGroup var location: DataOption
        @OptionGroup var remote: ServerOptions

        @Argument(help: "The stored event's event_id.")
        var eventID: String

        @Option(help: "Why (required; kept in the audit trail).")
        var reason: String

        @Flag(help: "Answer as JSON.")
        var json = false

        func validate() throws { try remote.validate(with: location) }

        func run() async throws {
            let request = CorrectionCodec.Request(eventID: eventID, reason: reason)
            let result = try await EventCommand.correct(request, location: location, remote: remote)
            EventCommand.print(result, request: request, json: json)
        }
    }

    struct CorrectCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "correct",
            abstract: "Replace a stored event by a corrected copy with a new event id.",
            discussion: """
                The copy is the stored event with the changes given here; the item is the lot a \
                receipt, shipment, scrap, move or quality result names, a consumption's component \
                or a production's output. The stored event is read from --data (with --server too: \
                the correction is then sent to the server).
                """
        )

        /// The store the stored event is read from (also with --server, which gets the correction).
        @OptionGroup var location: DataOption
        @OptionGroup var remote: ServerOptions

        @Argument(help: "The stored event's event_id.")
        var eventID: String

        @Option(help: "Why (required; kept in the audit trail).")
        var reason: String

        @Option(help: "The corrected event's own event_id (default: <event_id>.c1).")
        var newID: String?

        @Option(help: "The item's product.") var product: String?
        @Option(help: "The item's lot (its serial when the item is a serial).") var lot: String?
        @Option(help: "The quantity.") var qty: Double?
        @Option(help: "The quantity's unit.") var uom: String?
        @Option(help: "The production order.") var workOrder: String?
        @Option(help: "A consumption's output lot (into).") var intoLot: String?

        @Flag(help: "Answer as JSON.")
        var json = false

        func validate() throws {
            try remote.validateWithData()  // --data goes with --server here: the event is read from it
            if let newID, newID == eventID { throw ValidationError("--new-id must differ from the stored event's id") }
            let edit = EventEdit(
                eventID: "", product: product, lot: lot, qty: qty, uom: uom, workOrder: workOrder, intoLot: intoLot)
            if !edit.changesSomething {
                throw ValidationError(
                    "say what changes (--qty, --uom, --lot, --product, --work-order, --into-lot); to take an event back, use mesgate event void"
                )
            }
        }

        func run() async throws {
            let store = try StoreAccess.openExisting(
                location.data, access: .read, hint: "give --data DIR: the stored event is read from it",
                logger: StoreAccess.quietLogger("mesgate.event"))
            let stored = try store.event(id: eventID)
            store.close()
            guard let stored else { throw ServeCommand.fail("no stored event has event_id \(eventID)") }
            guard let original = EventCodec.stored(stored.raw) else {
                throw ServeCommand.fail("the stored event \(eventID) does not decode")
            }
            let edit = EventEdit(
                eventID: newID ?? "\(eventID).c1", product: product, lot: lot, qty: qty, uom: uom, workOrder: workOrder,
                intoLot: intoLot)
            let replacement: Event
            do throws(EventValidationError) {
                replacement = try edit.applied(to: original)
            } catch {
                throw ServeCommand.fail("cannot change \(error.field) of \(eventID): \(error.reason)")
            }
            let request = CorrectionCodec.Request(
                eventID: eventID, reason: reason, replacement: (replacement, EventCodec.encode(replacement)))
            var target = location
            if remote.server != nil { target.data = nil }
            let result = try await EventCommand.correct(request, location: target, remote: remote)
            EventCommand.print(result, request: request, json: json)
        }
    }

    /// Sends the correction to `--server`, or makes it on the store in `--data`.
    static func correct(_ request: CorrectionCodec.Request, location: DataOption, remote: ServerOptions) async throws
        -> CorrectionCodec.Result
    {
        if remote.server != nil {
            let reply = try await remote.call(
                "/mes.v1.EventIngest/Correct",
                CorrectionCodec.encodeRequest(
                    eventID: request.eventID, reason: request.reason, replacement: request.replacement?.raw))
            guard reply.status == 0, let message = reply.messages.first else {
                throw ServeCommand.fail("Correct failed: \(reply.statusText)")
            }
            return try message.withUnsafeBytes { bytes throws(MessageDecodingError) in
                try CorrectionCodec.decodeResult(bytes)
            }
        }
        let who = "\(OutboxCommand.actor) (mesgate event)"
        let replacement = request.replacement.map { IngestRequest(event: $0.event, raw: $0.raw, client: who) }
        if let replacement {
            do throws(EventValidationError) {
                try EventValidator(nowMs: { Int64(Date().timeIntervalSince1970 * 1000) }).validate(replacement.event)
            } catch {
                throw ServeCommand.fail("the corrected event is not valid: \(error.field): \(error.reason)")
            }
        }
        let outcome = try await StoreAccess.withStoreAlone(location, logger: "mesgate.event") { store in
            await store.correct(
                CorrectionRequest(eventID: request.eventID, reason: request.reason, replacement: replacement, by: who),
                decode: EventCodec.stored)
        }
        switch outcome {
        case .corrected(let c):
            return CorrectionCodec.Result(
                correctionID: c.id, sequence: c.sequence, replacementSequence: c.replacementSequence ?? 0,
                reposted: c.reposted, odooToReverse: c.odooToReverse)
        case .notFound: throw ServeCommand.fail("no stored event has event_id \(request.eventID)")
        case .correctedBefore(let before):
            let what = before.replacementEventID.map { "replaced by \($0)" } ?? "voided"
            throw ServeCommand.fail(
                "event \(before.eventID) was \(what) by correction \(before.id) (\(before.by): \(before.reason))")
        case .replacementRefused(let error): throw ServeCommand.fail("the corrected event is refused: \(error.message)")
        case .failed(let error): throw ServeCommand.fail("the store could not record it: \(error)")
        }
    }

    static func print(_ result: CorrectionCodec.Result, request: CorrectionCodec.Request, json: Bool) {
        if json {
            try? OutboxCommand.printJSON(
                [
                    "correction_id": result.correctionID, "event_id": request.eventID, "sequence": result.sequence,
                    "replacement_event_id": request.replacement?.event.eventID ?? "",
                    "replacement_sequence": result.replacementSequence, "reposted": result.reposted,
                    "odoo_to_reverse": result.odooToReverse,
                ] as [String: Any])
            return
        }
        var out: String
        if let replacement = request.replacement {
            out =
                "Replaced \(request.eventID) (#\(result.sequence)) by \(replacement.event.eventID) (#\(result.replacementSequence)): correction \(result.correctionID).\n"
        } else {
            out = "Voided \(request.eventID) (#\(result.sequence)): correction \(result.correctionID).\n"
        }
        for document in result.reposted { out += "Odoo: \(document) is posted again with the corrected totals.\n" }
        for kept in result.odooToReverse { out += "Odoo recorded it already; reverse it there: \(kept)\n" }
        Swift.print(out, terminator: "")
    }
}
