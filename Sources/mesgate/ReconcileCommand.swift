import ArgumentParser
import Foundation
import GenealogyStore
import Logging
import Odoo
import OutboxPoster
import ServeConfiguration

/// `mesgate reconcile`: per production order, what the plant reported vs what Odoo shows (events
/// whose outbox row was skipped are left out of the plant's side, and named).
/// Prints the differences; exits 1 when there are any (2 when Odoo cannot be asked).
struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Compare the plant's production, consumption and scrap per order with Odoo; exit 1 on differences."
    )

    @OptionGroup var location: DataOption

    @Option(help: "A JSON config file (the odoo-* keys of `mesgate serve`). [env: MESGATE_CONFIG]")
    var config: String?

    @Option(help: "Only this order; repeatable. Default: every order the plant reported on.")
    var order: [String] = []

    @OptionGroup(title: "Odoo") var odoo: OdooOptions

    func run() async throws {
        let posting: PosterConfiguration?
        do {
            posting = try await odoo.resolve(configPath: config)
        } catch {
            throw ServeCommand.fail(error.description)
        }
        guard let posting else { throw ServeCommand.fail("reconcile needs --odoo-url (and db, login, api key)") }
        // The store as `serve` finds it: --data, MESGATE_DATA, then the config file's "data".
        let data = try location.data ?? ProcessInfo.processInfo.environment["MESGATE_DATA"] ?? configuredData()
        let store = try StoreAccess.openExisting(data, access: .read, logger: Logger(label: "mesgate.reconcile"))
        defer { store.close() }
        let outbox = try OutboxStore(path: store.path, readOnly: true)
        let reconciler = Reconciler(postings: OdooPostings(client: try OdooClient(configuration: posting.odoo)))
        var differences = 0
        let orders = order.isEmpty ? try outbox.orderNames() : order
        for name in orders {
            let report = OrderReport(events: try outbox.events(ofOrder: name))
            let skipped = try outbox.skippedEvents(ofOrder: name)
            do {
                let diffs = try reconciler.differences(order: name, report: report)
                diffs.forEach { print($0) }
                differences += diffs.count
                // Not a difference: a person decided Odoo is not to get these (`mesgate outbox skip`).
                if !skipped.isEmpty {
                    let sequences = skipped.map { "\($0.sequence)" }.joined(separator: ", ")
                    print("\(name): left out, skipped by hand (not sent to Odoo): event sequence(s) \(sequences)")
                }
            } catch {
                FileHandle.standardError.write(Data("mesgate: cannot ask Odoo about \(name): \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
        print("\(orders.count) order(s), \(differences) difference(s)")
        if differences > 0 { throw ExitCode.failure }
    }

    /// The `data` key of the config file (`--config` or MESGATE_CONFIG), if it has one.
    private func configuredData() throws -> String? {
        guard let path = config ?? ProcessInfo.processInfo.environment["MESGATE_CONFIG"],
            let bytes = FileManager.default.contents(atPath: path)
        else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any] else {
            throw ServeCommand.fail("config file \(path) is not a JSON object")
        }
        return object["data"] as? String
    }
}
