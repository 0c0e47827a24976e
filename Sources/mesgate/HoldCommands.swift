import ArgumentParser
import Foundation
import GenealogyStore
import MESDomain
import MESMessages

/// `mesgate hold` / `mesgate release`: a quality engineer's hold on a lot (and what is made from
/// it), on a running server (`--server`, Quality.PlaceHold/ReleaseHold, role `quality`) or on the
/// store in `--data` while no server runs on it.
struct HoldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold",
        abstract: "Hold a lot, serial or container, and what is made from it: it cannot ship.",
        discussion: """
            Says what it holds, what of that has already shipped and to whom (those need a recall), \
            and what another hold already covered. At the enterprise hub (mesgate hub) it also says \
            which plants have applied the hold.
            """
    )

    @OptionGroup var location: DataOption
    @OptionGroup var remote: ServerOptions
    @OptionGroup var lotOptions: LotOptions

    @Option(help: "Why (kept in the audit trail and sent to Odoo).")
    var reason: String

    @Flag(help: "Hold only this lot, not what is made from it.")
    var noPropagate = false

    @Flag(help: "Answer as JSON.")
    var json = false

    func validate() throws { try remote.validate(with: location) }

    func run() async throws {
        let request = HoldRequest(lot: lotOptions.ref, reason: reason, propagate: !noPropagate)
        let answer = try await HoldCalls.run(request, place: true, location: location, remote: remote)
        HoldCalls.print(answer, request: request, place: true, json: json)
    }
}

struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Release the holds placed on a lot, serial or container.",
        discussion: """
            Frees what those holds covered, except what another open hold still covers (listed). At \
            the enterprise hub it also says which plants have applied the release.
            """
    )

    @OptionGroup var location: DataOption
    @OptionGroup var remote: ServerOptions
    @OptionGroup var lotOptions: LotOptions

    @Option(help: "Why (kept in the audit trail and sent to Odoo).")
    var reason: String

    @Flag(help: "Answer as JSON.")
    var json = false

    func validate() throws { try remote.validate(with: location) }

    func run() async throws {
        let request = HoldRequest(lot: lotOptions.ref, reason: reason)
        let answer = try await HoldCalls.run(request, place: false, location: location, remote: remote)
        HoldCalls.print(answer, request: request, place: false, json: json)
    }
}

/// What `hold` and `release` share.
enum HoldCalls {
    static func run(_ request: HoldRequest, place: Bool, location: DataOption, remote: ServerOptions) async throws
        -> HoldCodec.Answer
    {
        let method = place ? "PlaceHold" : "ReleaseHold"
        if remote.server != nil {
            let reply = try await remote.call("/mes.v1.Quality/\(method)", HoldCodec.encodeRequest(request))
            guard reply.status == 0, let message = reply.messages.first else {
                throw ServeCommand.fail("\(method) failed: \(reply.statusText)")
            }
            return try message.withUnsafeBytes { bytes throws(MessageDecodingError) in
                try HoldCodec.decodeAnswer(bytes)
            }
        }
        // A server on the folder keeps the holds it propagates in memory: a hold must go through it.
        let who = "\(OutboxCommand.actor) (mesgate \(place ? "hold" : "release"))"
        let (outcome, followUp) = try await StoreAccess.withStoreAlone(location, logger: "mesgate.hold") { store in
            let outcome = place ? await store.placeHold(request, by: who) : await store.releaseHold(request, by: who)
            guard case .changed = outcome else { return (outcome, HoldFollowUp()) }
            return (outcome, (try? store.holdFollowUp(root: request.lot, released: !place)) ?? HoldFollowUp())
        }
        switch outcome {
        case .changed(let lots):
            return HoldCodec.Answer(held: lots, plants: [], followUp: followUp)
        case .notFound: throw ServeCommand.fail("\(request.lot) is not in the genealogy store")
        case .noOpenHold: throw ServeCommand.fail("no open hold was placed on \(request.lot)")
        case .failed(let error): throw ServeCommand.fail("the store could not record it: \(error)")
        }
    }

    static func print(_ answer: HoldCodec.Answer, request: HoldRequest, place: Bool, json: Bool) {
        if json {
            let object: [String: Any] = [
                place ? "held" : "freed": answer.held.map(\.description),
                "shipped": answer.followUp.shipped.map {
                    [
                        "lot": $0.lot.description, "customer": $0.customer, "delivery": $0.delivery,
                        "qty": $0.qty.map { "\($0.value) \($0.uom)" } ?? "",
                    ]
                },
                "still_held": answer.followUp.stillHeld.map(\.description),
                "plants": answer.plants.map { ["plant": $0.plant, "lots": $0.lots, "applied": $0.applied] },
            ]
            try? OutboxCommand.printJSON(object)
            return
        }
        var out = ""
        if place {
            out +=
                "Held \(request.lot)\(request.propagate ? " and what is made from it" : ""): \(answer.held.count) item(s).\n"
            for lot in answer.held { out += "  \(lot)\n" }
            if answer.followUp.shipped.isEmpty {
                out += "Nothing of it has shipped.\n"
            } else {
                out += "RECALL NEEDED: \(answer.followUp.shipped.count) shipment(s) of held items left already:\n"
                for s in answer.followUp.shipped {
                    let qty = s.qty.map { " \(Self.number($0.value)) \($0.uom)" } ?? ""
                    out += "  \(s.lot)\(qty) to \(s.customer)\(s.delivery.isEmpty ? "" : ", delivery \(s.delivery)")\n"
                }
            }
            if !answer.followUp.stillHeld.isEmpty {
                out +=
                    "Already held by another hold too: \(answer.followUp.stillHeld.map(\.description).joined(separator: ", ")).\n"
            }
        } else {
            out += "Released the holds on \(request.lot): \(answer.held.count) item(s) free again.\n"
            for lot in answer.held { out += "  \(lot)\n" }
            if !answer.followUp.stillHeld.isEmpty {
                out +=
                    "Still held by another hold (not freed): \(answer.followUp.stillHeld.map(\.description).joined(separator: ", ")).\n"
            }
        }
        for plant in answer.plants {
            out +=
                "Plant \(plant.plant): \(plant.lots) lot(s), \(plant.applied ? "applied" : "NOT YET APPLIED (the hub keeps sending it)").\n"
        }
        Swift.print(out, terminator: "")
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
