import Foundation
import MESDomain

/// Turns a trace into what people read: an indented tree, JSON, or Graphviz DOT.
struct TraceRenderer {
    let result: TraceResult
    let start: LotRef
    let direction: TraceDirection

    private var forward: Bool { direction != .backward }

    /// Node label in the plant's words.
    static func label(_ ref: TraceNodeRef) -> String {
        guard let lot = ref.lot else { return "order \(ref.workOrder)" }
        switch lot.kind {
        case .container: return "container \(lot.container)"
        case .serial: return "\(lot.product) serial \(lot.serial)" + (lot.lot.isEmpty ? "" : " (lot \(lot.lot))")
        default: return "\(lot.product) lot \(lot.lot)"
        }
    }

    static func quantity(_ qty: Quantity?) -> String {
        guard let qty else { return "" }
        let value = qty.value == qty.value.rounded() ? String(Int64(qty.value)) : String(qty.value)
        return qty.uom.isEmpty ? value : "\(value) \(qty.uom)"
    }

    /// Children of each node in the walk's direction, in result order.
    private var children: [TraceNodeRef: [TraceEdge]] {
        var children: [TraceNodeRef: [TraceEdge]] = [:]
        for edge in result.edges { children[forward ? edge.from : edge.to, default: []].append(edge) }
        return children
    }

    // MARK: text

    func text() -> String {
        var out = ""
        let status = Dictionary(result.nodes.map { ($0.ref, $0.status) }, uniquingKeysWith: { a, _ in a })
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
            if let edge {
                let q = Self.quantity(edge.qty)
                if !q.isEmpty { text += "  \(q)" }
                if !edge.workOrder.isEmpty && ref.lot != nil { text += "  via \(edge.workOrder)" }
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
                    out += r.qty == nil ? "\n" : ", \(Self.quantity(r.qty))\n"
                }
                for s in shipments[lot] ?? [] {
                    out += indent + "    ⇒ shipped to \(s.customer)"
                    out += s.delivery.isEmpty ? "" : ", \(s.delivery)"
                    out += s.qty == nil ? "\n" : ", \(Self.quantity(s.qty))\n"
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

    func json() throws -> [UInt8] {
        func ref(_ r: TraceNodeRef) -> [String: Any] {
            guard let lot = r.lot else { return ["work_order": r.workOrder] }
            return lotJSON(lot)
        }
        func lotJSON(_ l: LotRef) -> [String: Any] {
            var o: [String: Any] = [:]
            if !l.product.isEmpty { o["product"] = l.product }
            if !l.lot.isEmpty { o["lot"] = l.lot }
            if !l.serial.isEmpty { o["serial"] = l.serial }
            if !l.container.isEmpty { o["container"] = l.container }
            return o
        }
        func qty(_ q: Quantity?) -> Any { q.map { ["value": $0.value, "uom": $0.uom] as [String: Any] } ?? NSNull() }
        let object: [String: Any] = [
            "direction": forward ? "forward" : "backward",
            "truncated": result.truncated,
            "nodes": result.nodes.map { n -> [String: Any] in
                var o = ref(n.ref)
                o["depth"] = n.depth
                o["status"] = n.status
                return o
            },
            "edges": result.edges.map {
                [
                    "from": ref($0.from), "to": ref($0.to), "kind": $0.kind, "qty": qty($0.qty),
                    "work_order": $0.workOrder,
                ]
                    as [String: Any]
            },
            "receipts": result.receipts.map {
                [
                    "lot": lotJSON($0.lot), "supplier": $0.supplier, "supplier_lot": $0.supplierLot,
                    "purchase_order": $0.purchaseOrder, "qty": qty($0.qty),
                ] as [String: Any]
            },
            "shipments": result.shipments.map {
                ["lot": lotJSON($0.lot), "customer": $0.customer, "delivery": $0.delivery, "qty": qty($0.qty)]
                    as [String: Any]
            },
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return Array(data) + [0x0A]
    }

    // MARK: DOT

    func dot() -> String {
        var ids: [TraceNodeRef: String] = [:]
        for (i, n) in result.nodes.enumerated() { ids[n.ref] = "n\(i)" }
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        }
        var out = "digraph trace {\n"
        out += "  rankdir=LR;\n  graph [fontname=\"Helvetica\", fontsize=11, nodesep=0.25, ranksep=0.5"
        let root = Self.label(result.nodes.first?.ref ?? TraceNodeRef(lot: start))
        let title = forward ? "Forward trace of \(root): where it went" : "Backward trace of \(root): what went into it"
        out += ", label=\"\(esc(title))\(result.truncated ? " (truncated)" : "")\", labelloc=t];\n"
        out +=
            "  node [fontname=\"Helvetica\", fontsize=10, style=\"rounded,filled\", shape=box, fillcolor=\"#eef3fb\", color=\"#4a6fa5\"];\n"
        out += "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#666666\"];\n"
        for (i, n) in result.nodes.enumerated() {
            var attributes: [String] = []
            if let lot = n.ref.lot {
                var label = Self.label(n.ref)
                if lot.kind == .container {
                    attributes.append("shape=box3d")
                    attributes.append("fillcolor=\"#fdf3dc\"")
                }
                if n.status != "active" { label += "\\n[\(n.status)]" }
                attributes.append("label=\"\(esc(label).replacingOccurrences(of: "\\\\n", with: "\\n"))\"")
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
            var label = r.supplier
            if !r.supplierLot.isEmpty { label += "\\nlot \(esc(r.supplierLot))" }
            if !r.purchaseOrder.isEmpty { label += "\\n\(esc(r.purchaseOrder))" }
            out +=
                "  r\(i) [label=\"\(esc(r.supplier) + label.dropFirst(r.supplier.count))\", shape=cds, fillcolor=\"#dff0d8\", color=\"#3c763d\"];\n"
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
