import ArgumentParser
import Foundation
import GenealogyStore
import Logging
import MESDomain
import MESMessages
import MESServices
import NIOPosix

/// `mesgate import-epcis FILE`: a supplier's EPCIS 2.0 JSON capture document into the genealogy,
/// through the store in `--data` or a running server's `EventIngest.ImportEPCIS` (`--server`).
struct ImportEPCISCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-epcis",
        abstract: "Import an EPCIS 2.0 JSON capture document into the genealogy.",
        discussion: """
            Validates the whole document first (a refused document exits 1 with a message naming \
            the event and field, e.g. eventList[1].bizStep) and stores nothing of it; otherwise its \
            receipts, transformations, packing, shipments and scrap are stored in one transaction, \
            with the document. Importing the same document again stores nothing new.
            """
    )

    @Argument(help: "The EPCIS 2.0 JSON(-LD) document.")
    var file: String

    @OptionGroup var location: DataOption
    @OptionGroup var remote: ServerOptions

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        try remote.validate(with: location)
    }

    func run() async throws {
        guard let contents = FileManager.default.contents(atPath: file) else {
            throw ServeCommand.fail("cannot read \(file)")
        }
        let document = Array(contents)
        let result: EPCISImportResult
        if remote.server != nil {
            result = try await call(document)
        } else {
            result = try await local(document)
        }
        let lines: String
        if json {
            lines = """
                {"events": \(result.events), "stored": \(result.stored), "duplicates": \(result.duplicates), \
                "not_mapped": \(result.notMapped), "lots": \(result.lots), "receipts": \(result.receipts), \
                "transformations": \(result.transformations), "shipments": \(result.shipments), \
                "scraps": \(result.scraps), "packings": \(result.packings), "import_id": \(result.importID), \
                "voided": \(result.voided), "document_sha256": "\(result.documentSHA256)"}

                """
        } else {
            lines = """
                imported \(file): \(result.events) EPCIS events, \(result.notMapped) not mapped (kept with the document)
                stored \(result.stored) MES events, \(result.duplicates) duplicates\(result.voided > 0 ? ", \(result.voided) voided (errorDeclaration)" : "")
                lots \(result.lots), receipts \(result.receipts), transformations \(result.transformations), \
                shipments \(result.shipments), scraps \(result.scraps), packings \(result.packings)
                document \(result.importID == 0 ? "already stored" : "#\(result.importID)") sha256 \(result.documentSHA256)

                """
        }
        FileHandle.standardOutput.write(Data(lines.utf8))
    }

    private func local(_ document: [UInt8]) async throws -> EPCISImportResult {
        let directory = location.directory
        let logger = StoreAccess.quietLogger("mesgate.import")
        let store: GenealogyStore
        var folderLock: DataFolderLock?
        if FileManager.default.fileExists(atPath: directory + "/" + GenealogyStore.fileName) {
            // Beside a running server, if any: no migration, no checkpoint.
            store = try StoreAccess.openExisting(location.data, access: .write, logger: logger)
        } else {
            // A new store: created (and its schema made) as its owner, under the folder's lock.
            do throws(GenealogyStoreError) {
                folderLock = try DataFolderLock.acquire(directory: directory)
                store = try GenealogyStore.open(directory: directory, logger: logger)
            } catch {
                throw ServeCommand.fail("cannot create the store in \(directory): \(error.message)")
            }
        }
        defer {
            store.close()
            withExtendedLifetime(folderLock) {}
        }
        do {
            return try await EPCISImporter(store: store).importDocument(document, client: "cli")
        } catch {
            throw ServeCommand.fail("\(file) refused: \(error)")
        }
    }

    private func call(_ document: [UInt8]) async throws -> EPCISImportResult {
        let reply = try await remote.call("/mes.v1.EventIngest/ImportEPCIS", EPCISImportCodec.encodeDocument(document))
        guard reply.status == 0, let message = reply.messages.first else {
            throw ServeCommand.fail("\(file) refused: \(reply.statusText)")
        }
        return try message.withUnsafeBytes { bytes throws(MessageDecodingError) in
            try EPCISImportCodec.decodeResult(bytes)
        }
    }
}
