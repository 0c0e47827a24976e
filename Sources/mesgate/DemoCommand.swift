import ArgumentParser
import Foundation
import GenealogyStore
import MESDomain
import MESMessages

/// `mesgate demo`: fills a store with a small, realistic plant day (`DemoPlantDay`) through the
/// same path as events from the MES (validation, the writer's transactions, outbox rows and audit
/// entries), and holds the housing lot whose check failed, so that every command of the README
/// has something to show. Refuses a store that holds events unless `--force`.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Fill a store with a small plant day (receipts, orders, scrap, downtime, checks, shipments).",
        discussion: """
            Writes the demo plant day of 1 December 2026 into the store in --data (created if \
            missing) and prints what it wrote and the ids the README's tour ("A tour with the demo \
            data") uses. No server may run on the folder. A store that holds events already is \
            refused unless --force.
            """
    )

    @OptionGroup var location: DataOption

    @Flag(help: "Write into a store that holds events already (events of an earlier demo are kept once).")
    var force = false

    func run() async throws {
        let directory = location.directory
        let folderLock: DataFolderLock
        let store: GenealogyStore
        do throws(GenealogyStoreError) {
            folderLock = try DataFolderLock.acquire(directory: directory)
            store = try GenealogyStore.open(directory: directory, logger: StoreAccess.quietLogger("mesgate.demo"))
        } catch {
            throw ServeCommand.fail("cannot open the store in \(directory): \(error.message)")
        }
        defer {
            store.close()
            withExtendedLifetime(folderLock) {}
        }
        let before = try store.eventCount()
        if before > 0 && !force {
            throw ServeCommand.fail(
                "the store in \(directory) holds \(before) event(s) already: give an empty folder, or --force to add the demo to it"
            )
        }
        let day = DemoPlantDay()
        let validator = EventValidator(nowMs: { Int64(Date().timeIntervalSince1970 * 1000) })
        var stored: [String: Int] = [:]
        var duplicates = 0
        for event in day.events {
            try validator.validate(event)  // the demo's own data: a failure here is a bug in it
            let request = IngestRequest(event: event, raw: EventCodec.encode(event), client: "mesgate-demo")
            switch await Self.store(request, in: store) {
            case .accepted: stored[event.body?.name ?? "", default: 0] += 1
            case .duplicate: duplicates += 1
            case .failed(let error): throw ServeCommand.fail("the store refused \(event.eventID): \(error)")
            }
        }
        // The quality engineer's hold on the lot that failed its check (once: not again on a re-run).
        var held: [LotRef] = []
        if duplicates == 0 {
            let request = HoldRequest(lot: DemoPlantDay.Names.failedHousingLot, reason: DemoPlantDay.Names.holdReason)
            let outcome = await store.placeHold(request, by: "\(OutboxCommand.actor) (mesgate demo)")
            guard case .changed(let lots) = outcome else { throw ServeCommand.fail("the demo hold failed: \(outcome)") }
            held = lots
        }
        let outbox = try OutboxStore(path: store.path, readOnly: true)
        let rows = try outbox.list(states: [], limit: 10_000)
        print(
            Self.summary(day, directory: directory, stored: stored, duplicates: duplicates, held: held, rows: rows),
            terminator: "")
    }

    /// Submits one event and waits for its commit.
    static func store(_ request: IngestRequest, in store: GenealogyStore) async -> IngestOutcome {
        await withCheckedContinuation { (done: CheckedContinuation<IngestOutcome, Never>) in
            switch store.submit(request, completion: { done.resume(returning: $0) }) {
            case .queued: break
            case .full: done.resume(returning: .failed(GenealogyStoreError(.queueFull, "the store's queue is full")))
            case .closed: done.resume(returning: .failed(GenealogyStoreError(.closed, "the store is closed")))
            }
        }
    }

    /// What was written, and the names the README's tour uses.
    static func summary(
        _ day: DemoPlantDay, directory: String, stored: [String: Int], duplicates: Int, held: [LotRef],
        rows: [OutboxEntry]
    ) -> String {
        typealias N = DemoPlantDay.Names
        let total = stored.values.reduce(0, +)
        var out =
            "demo plant day of 2026-12-01 (\(DemoPlantDay.plant), \(DemoPlantDay.tzOffset)) written to \(directory):\n"
        out +=
            "  \(total) event(s) stored: "
            + stored.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n"
        if duplicates > 0 { out += "  \(duplicates) event(s) were in the store already (kept once)\n" }
        let byState = Dictionary(grouping: rows, by: \.state).mapValues(\.count)
        out +=
            "  outbox: \(rows.count) row(s) for Odoo ("
            + byState.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")\n"
        if !held.isEmpty { out += "  held: \(held.map(\.description).joined(separator: ", ")) (\(N.holdReason))\n" }
        out += "names used in the README's tour:\n"
        out +=
            "  supplier lots: \(N.resinLot), \(N.secondResinLot), \(N.steelLot), \(N.sealLot), \(N.damagedSealLot) (scrapped)\n"
        out +=
            "  orders: \(N.housingOrder) (\(N.housingLot.product)), \(N.impellerOrder) (\(N.impellerLot.product)), "
            + "\(N.pumpOrder) (PUMP serials \(N.serials.joined(separator: ", "))), "
            + "\(N.secondHousingOrder) (\(N.failedHousingLot.product))\n"
        out += "  made: \(N.housingLot), \(N.impellerLot), \(N.failedHousingLot)\n"
        out +=
            "  shipped: \(N.pallet) (PUMP SN-76, SN-77) to \(N.firstCustomer); PUMP serial SN-78 to \(N.secondCustomer)\n"
        out += "  not received, yet consumed: \(N.unknownSealLot) (see mesgate exceptions)\n"
        let scrapID = day.events.first { if case .scrapped = $0.body { true } else { false } }?.eventID
        if let scrap = rows.first(where: { $0.eventID == scrapID }) {
            out += "  outbox row \(scrap.id): the scrap of \(N.damagedSealLot) (mesgate outbox show \(scrap.id))\n"
        }
        return out
    }
}
