import Foundation
public import MESDomain
import Synchronization

/// The genealogy as a Graphviz DOT picture: lots, serials and containers as boxes, production
/// orders as ellipses, receipts (suppliers) and shipments (customers) at the ends; held items red.
/// One or two traces (backward and forward from the same start) are drawn as one graph.
public struct GenealogyPicture: Sendable {
    let result: TraceResult
    let start: LotRef
    let direction: TraceDirection

    /// A picture of one trace (`direction` backward or forward) or of both merged (`.unspecified`).
    public init(results: [TraceResult], start: LotRef, direction: TraceDirection) {
        self.start = start
        self.direction = direction
        guard results.count > 1 else {
            result = results.first ?? TraceResult()
            return
        }
        var merged = TraceResult()
        var nodes: Set<TraceNodeRef> = []
        var edges: Set<TraceEdge> = []
        for r in results {
            for n in r.nodes where nodes.insert(n.ref).inserted { merged.nodes.append(n) }
            for e in r.edges where edges.insert(e).inserted { merged.edges.append(e) }
            merged.receipts += r.receipts
            merged.shipments += r.shipments
            merged.truncated = merged.truncated || r.truncated
        }
        result = merged
    }

    /// Node label in the plant's words.
    public static func label(_ ref: TraceNodeRef) -> String {
        guard let lot = ref.lot else { return "order \(ref.workOrder)" }
        switch lot.kind {
        case .container: return "container \(lot.container)"
        case .serial: return "\(lot.product) serial \(lot.serial)" + (lot.lot.isEmpty ? "" : " (lot \(lot.lot))")
        default: return "\(lot.product) lot \(lot.lot)"
        }
    }

    /// `12.5 kg`, `10` (no unit), "" for none.
    public static func quantity(_ qty: Quantity?) -> String {
        guard let qty else { return "" }
        let value = JSON.numberText(qty.value)
        return qty.uom.isEmpty ? value : "\(value) \(qty.uom)"
    }

    /// The number of boxes and ellipses the picture has.
    public var nodeCount: Int { result.nodes.count + result.receipts.count + result.shipments.count }

    public func dot() -> String {
        var ids: [TraceNodeRef: String] = [:]
        for (i, n) in result.nodes.enumerated() { ids[n.ref] = "n\(i)" }
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
        }
        var out = "digraph trace {\n"
        out += "  rankdir=LR;\n  graph [fontname=\"Helvetica\", fontsize=11, nodesep=0.25, ranksep=0.5"
        let root = Self.label(result.nodes.first?.ref ?? TraceNodeRef(lot: start))
        let title =
            switch direction {
            case .backward: "Backward trace of \(root): what went into it"
            case .forward: "Forward trace of \(root): where it went"
            case .unspecified: "Genealogy of \(root): what went into it and where it went"
            }
        out += ", label=\"\(esc(title))\(result.truncated ? " (truncated)" : "")\", labelloc=t];\n"
        out +=
            "  node [fontname=\"Helvetica\", fontsize=10, style=\"rounded,filled\", shape=box, fillcolor=\"#eef3fb\", color=\"#4a6fa5\"];\n"
        out += "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#666666\"];\n"
        for (i, n) in result.nodes.enumerated() {
            var attributes: [String] = []
            if let lot = n.ref.lot {
                var label = esc(Self.label(n.ref))
                if lot.kind == .container {
                    attributes.append("shape=box3d")
                    attributes.append("fillcolor=\"#fdf3dc\"")
                }
                if n.status != "active" { label += "\\n[\(esc(n.status))]" }
                if !n.plant.isEmpty { label += "\\nplant \(esc(n.plant))" }
                attributes.append("label=\"\(label)\"")
                if n.status == "hold" { attributes += ["fillcolor=\"#f8d0d0\"", "color=\"#c0392b\"", "penwidth=2"] }
                if i == 0 { attributes.append("penwidth=2.5") }
            } else {
                attributes += [
                    "label=\"\(esc(n.ref.workOrder))\"", "shape=ellipse", "style=filled", "fillcolor=\"#e8e8e8\"",
                    "color=\"#999999\"",
                ]
            }
            out += "  n\(i) [\(attributes.joined(separator: ", "))];\n"
        }
        for e in result.edges {
            guard let a = ids[e.from], let b = ids[e.to] else { continue }
            var attributes: [String] = []
            let q = Self.quantity(e.qty)
            if !q.isEmpty { attributes.append("label=\"\(esc(q))\"") }
            if e.kind == "containment" { attributes.append("style=dashed") }
            if e.kind == "split" { attributes.append("style=dotted") }
            out += "  \(a) -> \(b)\(attributes.isEmpty ? "" : " [\(attributes.joined(separator: ", "))]");\n"
        }
        let byLot = Dictionary(
            result.nodes.compactMap { n in n.ref.lot.map { ($0, ids[n.ref] ?? "") } }, uniquingKeysWith: { a, _ in a })
        for (i, r) in result.receipts.enumerated() {
            guard let id = byLot[r.lot] else { continue }
            var label = esc(r.supplier)
            if !r.supplierLot.isEmpty { label += "\\nlot \(esc(r.supplierLot))" }
            if !r.purchaseOrder.isEmpty { label += "\\n\(esc(r.purchaseOrder))" }
            out += "  r\(i) [label=\"\(label)\", shape=cds, fillcolor=\"#dff0d8\", color=\"#3c763d\"];\n"
            out += "  r\(i) -> \(id) [label=\"\(esc(Self.quantity(r.qty)))\", color=\"#3c763d\"];\n"
        }
        for (i, s) in result.shipments.enumerated() {
            guard let id = byLot[s.lot] else { continue }
            let label = esc(s.customer) + (s.delivery.isEmpty ? "" : "\\n\(esc(s.delivery))")
            out += "  s\(i) [label=\"\(label)\", shape=house, fillcolor=\"#e3d7f0\", color=\"#6a4c93\"];\n"
            out += "  \(id) -> s\(i) [label=\"\(esc(Self.quantity(s.qty)))\", color=\"#6a4c93\"];\n"
        }
        out += "}\n"
        return out
    }
}

/// Graphviz's `dot`, run as a child process.
public enum Graphviz {
    /// An error running `dot`: not installed, or it failed.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Renders DOT as SVG with `dot -Tsvg`, found on `searchPath` (default: this process's PATH).
    /// Blocks the calling thread. Never ends the process: a missing or failing `dot` (which closes
    /// its input early: EPIPE on the write, SIGPIPE being ignored by `mesgate serve`) is a `Failure`.
    public static func svg(_ dot: String, searchPath: String? = nil) throws(Failure) -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["dot", "-Tsvg"]
        if let searchPath {
            var environment = ProcessInfo.processInfo.environment
            environment["PATH"] = searchPath
            process.environment = environment
        }
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot run graphviz's dot (apt-get install graphviz): \(error)")
        }
        // FileHandle.write(_: Data) is a `try!` inside Foundation: a dot that exits before reading
        // all its input (not installed, failing) would end the process. write(contentsOf:) throws.
        let writeFailure = Mutex<(any Error)?>(nil)
        let written = DispatchSemaphore(value: 0)
        let writer = Thread {
            // A write to a pipe whose reader is gone raises SIGPIPE on the writing thread; blocked
            // here, the write fails with EPIPE instead, whatever the process's disposition (the
            // signal stays pending on this thread and goes with it).
            var pipeSignal = sigset_t()
            sigemptyset(&pipeSignal)
            sigaddset(&pipeSignal, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
            do {
                try input.fileHandleForWriting.write(contentsOf: Data(dot.utf8))
            } catch {
                writeFailure.withLock { $0 = error }
            }
            try? input.fileHandleForWriting.close()
            written.signal()
        }
        writer.start()
        let svg = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        written.wait()
        switch process.terminationStatus {
        case 0:
            if let error = writeFailure.withLock({ $0 }) {
                throw Failure(description: "graphviz's dot did not read the whole graph: \(error)")
            }
            return Array(svg)
        case 127:
            throw Failure(description: "graphviz's dot is not installed (not found on PATH; apt-get install graphviz)")
        case let status:
            throw Failure(description: "graphviz's dot failed (exit status \(status))")
        }
    }
}
