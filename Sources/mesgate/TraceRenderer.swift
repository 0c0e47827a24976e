import Foundation
import LotExport
import MESDomain

/// Turns a trace into what people read: an indented tree, JSON, or Graphviz DOT.
struct TraceRenderer {
    let result: TraceResult
    let start: LotRef
    let direction: TraceDirection

    private var forward: Bool { direction != .backward }

    /// Node label in the plant's words.
    static func label(_ ref: TraceNodeRef) -> String { GenealogyPicture.label(ref) }

    static func quantity(_ qty: Quantity?) -> String { GenealogyPicture.quantity(qty) }

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

    func dot() -> String { GenealogyPicture(results: [result], start: start, direction: direction).dot() }
}
