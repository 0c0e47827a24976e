import Foundation
public import MESDomain

/// Turns a trace into what people read: an indented tree, JSON, or Graphviz DOT.
public struct TraceRenderer: Sendable {
    public let result: TraceResult
    public let start: LotRef
    public let direction: TraceDirection

    public init(result: TraceResult, start: LotRef, direction: TraceDirection) {
        self.result = result
        self.start = start
        self.direction = direction
    }

    private var forward: Bool { direction != .backward }

    /// Node label in the plant's words.
    public static func label(_ ref: TraceNodeRef) -> String { GenealogyPicture.label(ref) }

    public static func quantity(_ qty: Quantity?) -> String { GenealogyPicture.quantity(qty) }

    /// Children of each node in the walk's direction, in result order.
    private var children: [TraceNodeRef: [TraceEdge]] {
        var children: [TraceNodeRef: [TraceEdge]] = [:]
        for edge in result.edges { children[forward ? edge.from : edge.to, default: []].append(edge) }
        return children
    }

    // MARK: text

    /// `" (plant X)"`, or "" for no plant.
    static func plantNote(_ plant: String) -> String { plant.isEmpty ? "" : " (plant \(plant))" }

    /// The indented tree. Plants show where they are known: a node's after its label, an edge's
    /// after its quantity when it differs from the node's, a receipt's and a shipment's at the end.
    public func text() -> String {
        var out = ""
        let status = Dictionary(result.nodes.map { ($0.ref, $0.status) }, uniquingKeysWith: { a, _ in a })
        let plant = Dictionary(result.nodes.map { ($0.ref, $0.plant) }, uniquingKeysWith: { a, _ in a })
        var receipts: [LotRef: [TraceReceipt]] = [:]
        for r in result.receipts { receipts[r.lot, default: []].append(r) }
        var shipments: [LotRef: [TraceShipment]] = [:]
        for s in result.shipments { shipments[s.lot, default: []].append(s) }
        let children = self.children
        var printed: Set<TraceNodeRef> = []
        let root = result.nodes.first?.ref ?? TraceNodeRef(lot: start)
        out += "\(forward ? "forward (where it went)" : "backward (what went into it)") from \(Self.label(root))\n"

        func line(_ ref: TraceNodeRef, via edge: TraceEdge?, indent: String) {
            var text = indent + Self.label(ref)
            if let s = status[ref], s != "active", s != "order" { text += " [\(s)]" }
            text += Self.plantNote(plant[ref] ?? "")
            if let edge {
                let q = Self.quantity(edge.qty)
                if !q.isEmpty { text += "  \(q)" }
                if !edge.workOrder.isEmpty && ref.lot != nil { text += "  via \(edge.workOrder)" }
                if !edge.plant.isEmpty && edge.plant != plant[ref] { text += "  at \(edge.plant)" }
            }
            let seen = !printed.insert(ref).inserted
            if seen && !(children[ref] ?? []).isEmpty { text += "  (see above)" }
            out += text + "\n"
            guard !seen else { return }
            if let lot = ref.lot {
                for r in receipts[lot] ?? [] {
                    out += indent + "    ⇐ received from \(r.supplier)"
                    out += r.supplierLot.isEmpty ? "" : " lot \(r.supplierLot)"
                    out += r.purchaseOrder.isEmpty ? "" : ", \(r.purchaseOrder)"
                    out += r.qty == nil ? "" : ", \(Self.quantity(r.qty))"
                    out += r.plant.isEmpty ? "\n" : ", at \(r.plant)\n"
                }
                for s in shipments[lot] ?? [] {
                    out += indent + "    ⇒ shipped to \(s.customer)"
                    out += s.delivery.isEmpty ? "" : ", \(s.delivery)"
                    out += s.qty == nil ? "" : ", \(Self.quantity(s.qty))"
                    out += s.plant.isEmpty ? "\n" : ", from \(s.plant)\n"
                }
            }
            for child in children[ref] ?? [] {
                line(forward ? child.to : child.from, via: child, indent: indent + "    ")
            }
        }
        line(root, via: nil, indent: "")
        let lots = result.nodes.filter { $0.ref.lot != nil }.count
        out += "\n\(result.nodes.count) nodes (\(lots) lots, serials and containers), \(result.edges.count) edges"
        out += forward ? ", \(result.shipments.count) shipments" : ", \(result.receipts.count) receipts"
        out += result.truncated ? "; TRUNCATED by --max-depth/--max-nodes\n" : "\n"
        return out
    }

    // MARK: JSON

    /// The trace as one JSON object: `direction`, `truncated`, then `nodes`, `edges`, `receipts` and
    /// `shipments`, one entry per line; each entry has a `plant` when it is known. Written by LotExport's `JSON` (Foundation's serializer took
    /// 4.6 s and 320 MB for a 17,000-lot recall).
    public func json() -> [UInt8] {
        func lot(_ l: LotRef) -> [(String, JSON)] {
            var o: [(String, JSON)] = []
            if !l.product.isEmpty { o.append(("product", .string(l.product))) }
            if !l.lot.isEmpty { o.append(("lot", .string(l.lot))) }
            if !l.serial.isEmpty { o.append(("serial", .string(l.serial))) }
            if !l.container.isEmpty { o.append(("container", .string(l.container))) }
            return o
        }
        func ref(_ r: TraceNodeRef) -> [(String, JSON)] { r.lot.map(lot) ?? [("work_order", .string(r.workOrder))] }
        func plant(_ p: String) -> [(String, JSON)] { p.isEmpty ? [] : [("plant", .string(p))] }
        func qty(_ q: Quantity?) -> JSON {
            q.map { .object([("value", .number($0.value)), ("uom", .string($0.uom))]) } ?? .null
        }
        var out: [UInt8] = []
        func list(_ name: String, _ entries: [JSON], last: Bool = false) {
            out.append(contentsOf: "\"\(name)\": [".utf8)
            for (i, entry) in entries.enumerated() {
                out.append(contentsOf: (i == 0 ? "\n  " : ",\n  ").utf8)
                entry.write(into: &out)
            }
            out.append(contentsOf: (entries.isEmpty ? "]" : "\n]").utf8)
            out.append(contentsOf: (last ? "\n}\n" : ",\n").utf8)
        }
        out.append(contentsOf: "{\"direction\": \"\(forward ? "forward" : "backward")\", ".utf8)
        out.append(contentsOf: "\"truncated\": \(result.truncated),\n".utf8)
        list(
            "nodes",
            result.nodes.map {
                .object(
                    ref($0.ref) + [("depth", .integer(Int64($0.depth))), ("status", .string($0.status))]
                        + plant($0.plant))
            })
        list(
            "edges",
            result.edges.map {
                .object(
                    [
                        ("from", .object(ref($0.from))), ("to", .object(ref($0.to))), ("kind", .string($0.kind)),
                        ("qty", qty($0.qty)), ("work_order", .string($0.workOrder)),
                    ] + plant($0.plant))
            })
        list(
            "receipts",
            result.receipts.map {
                .object(
                    [
                        ("lot", .object(lot($0.lot))), ("supplier", .string($0.supplier)),
                        ("supplier_lot", .string($0.supplierLot)), ("purchase_order", .string($0.purchaseOrder)),
                        ("qty", qty($0.qty)),
                    ] + plant($0.plant))
            })
        list(
            "shipments",
            result.shipments.map {
                .object(
                    [
                        ("lot", .object(lot($0.lot))), ("customer", .string($0.customer)),
                        ("delivery", .string($0.delivery)), ("qty", qty($0.qty)),
                    ] + plant($0.plant))
            }, last: true)
        return out
    }

    // MARK: DOT

    public func dot() -> String { GenealogyPicture(results: [result], start: start, direction: direction).dot() }
}
