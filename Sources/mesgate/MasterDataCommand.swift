import ArgumentParser
import Foundation
import GenealogyStore
import Logging
import LotExport
import MESDomain
import MESMessages
import Odoo
import OutboxPoster
import ServeConfiguration

/// `mesgate masterdata`: the master data read from Odoo, item by item with its revisions, and an
/// on-demand read from Odoo.
struct MasterDataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "masterdata",
        abstract: "Show the master data read from Odoo (products, BoMs, work centers, units) and its revisions.",
        subcommands: [List.self, Show.self, Sync.self]
    )

    /// A kind as people type it.
    static func kind(_ text: String) throws -> MasterDataKind {
        switch text.lowercased().replacingOccurrences(of: "-", with: "_") {
        case "product", "products": .product
        case "bom", "boms": .bom
        case "work_center", "work_centers", "workcenter", "workcenters": .workCenter
        case "uom", "uoms", "unit", "units": .uom
        default: throw ValidationError("KIND is product, bom, work_center or uom, not \(text)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the newest revision of every item of a kind (all kinds without one).")

        @Argument(help: "product, bom, work_center or uom; all kinds when left out.")
        var kind: String?

        @OptionGroup var location: DataOption
        @OptionGroup var remote: ServerOptions

        @Flag(help: "Answer as JSON.")
        var json = false

        func validate() throws {
            try remote.validate(with: location)
            if let kind { _ = try MasterDataCommand.kind(kind) }
        }

        func run() async throws {
            let kind = try self.kind.map(MasterDataCommand.kind)
            let items: [MasterRevision]
            if remote.server != nil {
                items = try await MasterDataCommand.call(remote, MasterDataCodec.Filter(kind: kind))
            } else {
                let store = try MasterDataCommand.open(location)
                defer { store.close() }
                items = try store.masterData { try MasterDataBook.list(kind, in: $0) }
            }
            if json { return try OutboxCommand.printJSON(items.map(MasterDataText.object)) }
            print("\(items.count) item(s)")
            for item in items { print(MasterDataText.line(item)) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show an item and its revisions: when each was recorded and what changed.",
            discussion: """
                KEY: a product's code, a BoM's Odoo id (or the code of the product whose BoM it is), a \
                work center's code or name, a unit's name. With --server only the newest revision is \
                known (MasterData.List); the history is read from --data.
                """)

        @Argument(help: "product, bom, work_center or uom.")
        var kind: String

        @Argument(help: "The item's key.")
        var key: String

        @OptionGroup var location: DataOption
        @OptionGroup var remote: ServerOptions

        @Flag(help: "Answer as JSON.")
        var json = false

        func validate() throws {
            try remote.validate(with: location)
            _ = try MasterDataCommand.kind(kind)
        }

        func run() async throws {
            let kind = try MasterDataCommand.kind(self.kind)
            let history: [MasterRevision]
            if remote.server != nil {
                history = try await MasterDataCommand.call(remote, MasterDataCodec.Filter(kind: kind, key: key))
            } else {
                let store = try MasterDataCommand.open(location)
                defer { store.close() }
                history = try store.masterData { db in
                    let found = try MasterDataBook.history(kind, key: key, in: db)
                    if !found.isEmpty { return found }
                    // A BoM by its product, a work center by its name.
                    let other: String? =
                        switch kind {
                        case .bom: try MasterDataBook.currentBOM(product: key, in: db)?.key
                        case .workCenter:
                            try MasterDataBook.workCenter(key, in: db).map { $0.code.isEmpty ? $0.name : $0.code }
                        case .product, .uom: nil
                        }
                    return try other.map { try MasterDataBook.history(kind, key: $0, in: db) } ?? []
                }
            }
            guard let newest = history.last else { throw ServeCommand.fail("no \(kind.rawValue) \(key)") }
            if json {
                var object = MasterDataText.object(newest)
                object["history"] = history.map(MasterDataText.object)
                return try OutboxCommand.printJSON(object)
            }
            print(MasterDataText.line(newest))
            for detail in MasterDataText.details(newest.item) { print("  \(detail)") }
            print("Revisions:")
            for revision in history {
                let what =
                    revision.revision == 1
                    ? "first read" : "changed: \(revision.changedFields.joined(separator: ", "))"
                let when = revision.recordedAtMs > 0 ? MachineTime.text(revision.recordedAtMs) : "(newest)"
                print("  r\(revision.revision)  \(when)  Odoo write_date \(revision.odooWriteDate) UTC  \(what)")
            }
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read every product, BoM, work center and unit from Odoo now and record what changed.",
            discussion: """
                Writes new revisions into the store in --data (also while `mesgate serve` runs there: \
                its MasterData subscribers hear of them at its next master data poll).
                """)

        @OptionGroup var location: DataOption

        @Option(help: "A JSON config file (the odoo-* keys of `mesgate serve`). [env: MESGATE_CONFIG]")
        var config: String?

        @OptionGroup(title: "Odoo") var odoo: OdooOptions

        func run() async throws {
            let posting: PosterConfiguration?
            do {
                posting = try await odoo.resolve(configPath: config)
            } catch {
                throw ServeCommand.fail(error.description)
            }
            guard let posting else { throw ServeCommand.fail("sync needs --odoo-url (and db, login, api key)") }
            let store = try MasterDataCommand.open(location)
            let path = store.path
            store.close()
            let recorded: [MasterRevision]
            let read: Int
            do {
                let items = try OdooMasterData(client: try OdooClient(configuration: posting.odoo)).read(since: nil)
                    .items
                read = items.count
                recorded = try MasterDataWriter(path: path).record(
                    items, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
            } catch let error as OdooError {
                throw ServeCommand.fail("cannot read master data from Odoo: \(error)")
            }
            print("read \(read) item(s) from Odoo; \(recorded.count) new revision(s)")
            for revision in recorded { print(MasterDataText.line(revision)) }
        }
    }

    static func open(_ location: DataOption) throws -> GenealogyStore {
        try StoreAccess.openExisting(
            location.data, access: .read, hint: "give --data DIR or --server HOST:PORT",
            logger: StoreAccess.quietLogger("mesgate.masterdata"))
    }

    static func call(_ remote: ServerOptions, _ filter: MasterDataCodec.Filter) async throws -> [MasterRevision] {
        let reply = try await remote.call("/mes.v1.MasterData/List", MasterDataCodec.encodeFilter(filter))
        guard reply.status == 0 else { throw ServeCommand.fail("MasterData.List failed: \(reply.statusText)") }
        return try reply.messages.flatMap { message in
            try message.withUnsafeBytes { bytes throws(MessageDecodingError) in try MasterDataCodec.decodeList(bytes) }
        }
    }
}
