import ArgumentParser
import Foundation
import GenealogyStore
import Logging
import LotExport
import MESDomain
import MESMessages
import NIOPosix

/// `mesgate export`: a lot's history and genealogy as EPCIS 2.0 JSON-LD, an FSMA 204 spreadsheet,
/// an HTML report or a DOT picture, from the store (`--data`) or a running server (`--server`).
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a lot's history and genealogy for auditors, regulators and trading partners.",
        discussion: """
            Reads the store in --data directly (no server needed), or calls Genealogy.Export on \
            --server HOST:PORT (h2c; --token for a server with tokens, role auditor or admin). \
            Name the lot with --product and --lot, --product and --serial, or --container.

            Formats: epcis (GS1 EPCIS 2.0 JSON-LD), fsma204 (FDA FSMA 204 sortable spreadsheet, CSV), \
            html (a printable lot report; its picture needs graphviz's `dot`), dot (the picture alone).
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case epcis, fsma204, html, dot

        var wire: ExportFormat {
            switch self {
            case .epcis: .epcisJSONLD
            case .fsma204: .fsma204CSV
            case .html: .html
            case .dot: .dot
            }
        }
    }

    @OptionGroup var location: DataOption
    @OptionGroup var remote: ServerOptions

    @OptionGroup var lotOptions: LotOptions

    @Flag(help: "What went into it only.")
    var backward = false

    @Flag(help: "Where it went only.")
    var forward = false

    @Flag(help: "Both directions (the default).")
    var both = false

    @Option(help: "epcis, fsma204, html or dot.")
    var format: Format = .epcis

    @Option(name: [.customShort("o"), .long], help: "Write to this file instead of standard output.")
    var out: String?

    /// Exports with more events than this report their progress on standard error.
    static let progressEvents = 5_000

    func validate() throws {
        if [backward, forward, both].filter({ $0 }).count > 1 {
            throw ValidationError("give one of --backward, --forward, --both")
        }
        try remote.validate(with: location)
    }

    var start: LotRef { lotOptions.ref }
    var direction: TraceDirection { backward ? .backward : forward ? .forward : .unspecified }

    func run() async throws {
        let request = ExportRequest(lot: start, direction: direction, format: format.wire)
        let began = Date()
        let bytes: [UInt8]
        if let server = remote.server {
            bytes = try await call(request, server)
        } else {
            bytes = try await local(request, began: began)
        }
        try StoreAccess.write(bytes, to: out)
    }

    private func progress(_ text: String) {
        FileHandle.standardError.write(Data("mesgate export: \(text)\n".utf8))
    }

    private func local(_ request: ExportRequest, began: Date) async throws -> [UInt8] {
        // .write: the export's audit entry is appended through a writer of its own.
        let store = try StoreAccess.openExisting(
            location.data, access: .write, hint: "give --data DIR or --server HOST:PORT",
            logger: StoreAccess.quietLogger("mesgate.export"))
        defer { store.close() }
        let source: ExportSource?
        do {
            source = try store.exportSource(
                lot: request.lot, direction: request.direction, maxNodes: LotExporter.maxNodes)
        } catch {
            throw ServeCommand.fail("cannot read the store: \(error)")
        }
        guard let source else { throw ServeCommand.fail("\(request.lot): not found in the store") }
        let content = ExportContent(
            source: source, direction: request.direction, createdAtMs: Int64(Date().timeIntervalSince1970 * 1000))
        let big = content.events.count >= Self.progressEvents
        if big {
            progress(
                "read \(content.items.count) lots, serials and containers and \(content.events.count) events "
                    + "in \(milliseconds(since: began)) ms; writing \(format.rawValue)…")
        }
        let document: ExportDocument
        do {
            document = try LotExporter(store: store).render(content, format: request.format)
        } catch {
            throw ServeCommand.fail("export failed: \(error)")
        }
        if big { progress("\(document.bytes.count) bytes in \(milliseconds(since: began)) ms") }
        if document.truncated {
            progress("the trace was cut at \(LotExporter.maxNodes) nodes: the export is incomplete")
        }
        // An export straight from the store is audited like one through the server.
        do {
            _ = try await store.appendAudit(
                actor: "\(OutboxCommand.actor) (mesgate export --data)", action: AuditAction.export,
                subject: "lot \(request.lot)",
                detail: "format \(request.format), direction \(request.direction), \(document.bytes.count) bytes, "
                    + "\(document.itemCount) items, \(document.eventCount) events"
                    + (document.truncated ? ", truncated" : ""))
        } catch {
            throw ServeCommand.fail("the export could not be recorded in the audit trail: \(error)")
        }
        return document.bytes
    }

    private func milliseconds(since date: Date) -> Int { Int(Date().timeIntervalSince(date) * 1000) }

    private func call(_ request: ExportRequest, _ address: String) async throws -> [UInt8] {
        let reply = try await remote.call("/mes.v1.Genealogy/Export", ExportCodec.encodeRequest(request))
        switch reply.status {
        case 0: break
        case 5: throw ServeCommand.fail("\(request.lot): not found on \(address)")
        default: throw ServeCommand.fail("Export failed: \(reply.statusText)")
        }
        var bytes: [UInt8] = []
        for message in reply.messages {
            bytes += try message.withUnsafeBytes { raw throws(MessageDecodingError) in try ExportCodec.decodeChunk(raw)
            }
        }
        if bytes.count >= 1 << 20 { progress("\(bytes.count) bytes in \(reply.messages.count) chunks") }
        return bytes
    }
}
