import ArgumentParser
import Foundation
import GenealogyStore
import Logging
import LotExport
import MESDomain
import MESMessages
import NIOPosix

/// `mesgate trace`: where a lot went (forward) or what went into it (backward), from the store
/// (`--data`) or a running server (`--server`), as a tree, JSON, Graphviz DOT or SVG.
struct TraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Trace a lot, serial or container backward or forward through the genealogy.",
        discussion: """
            Reads the store in --data directly (no server needed), or calls Genealogy.Trace on \
            --server HOST:PORT. Name the start with --product and --lot, --product and --serial, or \
            --container. --format svg needs graphviz's `dot` on PATH.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, dot, svg
    }

    @OptionGroup var location: DataOption
    @OptionGroup var remote: ServerOptions

    @Flag(help: "What went into it (root cause: components, suppliers).")
    var backward = false

    @Flag(help: "Where it went (recall: products, containers, customers). The default.")
    var forward = false

    @OptionGroup var lotOptions: LotOptions

    @Option(help: "Stop this many steps from the start (0: no limit).")
    var maxDepth = 0

    @Option(help: "Stop after this many nodes (0: the server's limit, 100000).")
    var maxNodes = 0

    @Option(help: "text (an indented tree), json, dot or svg.")
    var format: Format = .text

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    func validate() throws {
        if backward && forward { throw ValidationError("give --backward or --forward, not both") }
        try remote.validate(with: location)
    }

    var start: LotRef { lotOptions.ref }

    func run() async throws {
        let request = TraceRequest(
            lot: start, direction: backward ? .backward : .forward, maxDepth: maxDepth,
            maxNodes: maxNodes == 0 ? 100_000 : maxNodes)
        let result: TraceResult
        if remote.server != nil {
            result = try await call(request)
        } else {
            result = try local(request)
        }
        let renderer = TraceRenderer(result: result, start: start, direction: request.direction)
        let bytes: [UInt8]
        switch format {
        case .text: bytes = Array(renderer.text().utf8)
        case .json: bytes = renderer.json()
        case .dot: bytes = Array(renderer.dot().utf8)
        case .svg: bytes = try Self.svg(renderer.dot())
        }
        try StoreAccess.write(bytes, to: output)
    }

    private func local(_ request: TraceRequest) throws -> TraceResult {
        let store = try StoreAccess.openExisting(
            location.data, access: .read, hint: "give --data DIR or --server HOST:PORT",
            logger: StoreAccess.quietLogger("mesgate.trace"))
        defer { store.close() }
        guard let result = try store.trace(request) else { throw ServeCommand.fail("\(request.lot): not found") }
        return result
    }

    private func call(_ request: TraceRequest) async throws -> TraceResult {
        let reply = try await remote.call("/mes.v1.Genealogy/Trace", TraceCodec.encodeRequest(request))
        guard reply.status == 0, let message = reply.messages.first else {
            throw ServeCommand.fail("Trace failed: \(reply.statusText)")
        }
        return try message.withUnsafeBytes { bytes throws(MessageDecodingError) in try TraceCodec.decode(bytes) }
    }

    /// Renders DOT as SVG with graphviz's `dot`.
    static func svg(_ dot: String) throws -> [UInt8] {
        do {
            return try Graphviz.svg(dot)
        } catch {
            throw ServeCommand.fail(error.description)
        }
    }
}
