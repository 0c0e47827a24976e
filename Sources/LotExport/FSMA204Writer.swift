import GenealogyStore
import MESDomain

/// The FDA FSMA 204 "electronic sortable spreadsheet" (21 CFR 1.1455(c)(3)(ii)) of the Key Data
/// Elements for receiving (1.1345), shipping (1.1340) and transformation (1.1350), as CSV (RFC 4180:
/// CRLF line ends, fields with `"` `,` CR or LF quoted, `"` doubled).
///
/// Formula injection (OWASP "CSV Injection"): a cell that starts with `=`, `+`, `-`, `@`, tab or CR
/// and is not a plain number (`-2.5`, `1e-05`: a quantity stays a number a spreadsheet sums) is
/// written quoted with a leading `'`, so a lot named `=HYPERLINK(...)` is shown as text, never run.
///
/// One row per lot a receipt or shipment moved (a shipped container is expanded into the lots,
/// serials and containers packed in it at that time), and per input lot of a transformation; rows
/// of one event share its Event ID. A transformation is a production report (the new lot) with
/// every input consumed in its work order (order-level consumption), or directly into it, or a
/// split (moved with new_lot). mesgate keeps no product master data, so the product description is
/// the product code.
enum FSMA204Writer {
    static let headers = [
        "Event ID", "Critical Tracking Event", "Event Date", "Event Time", "Traceability Lot Code", "Product",
        "Product Description", "Quantity", "Unit of Measure", "Input Traceability Lot Code", "Input Product",
        "Input Product Description", "Input Quantity", "Input Unit of Measure", "Location of Event",
        "Immediate Previous Source", "Immediate Subsequent Recipient", "Ship-To Location",
        "Traceability Lot Code Source", "Reference Document Type", "Reference Document Number",
        "Supplier Lot Code", "Work Order", "Operator", "Recorded By", "Store Sequence",
    ]

    /// One row, by header name.
    struct Row {
        var values: [String: String] = [:]
        subscript(_ key: String) -> String {
            get { values[key] ?? "" }
            set { values[key] = newValue }
        }
    }

    static func document(_ content: ExportContent) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(content.events.count * 300 + 1024)
        writeLine(headers, into: &out)
        for row in rows(content) { writeLine(headers.map { row[$0] }, into: &out) }
        return out
    }

    static func writeLine(_ fields: [String], into out: inout [UInt8]) {
        for (i, field) in fields.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            let bytes = field.utf8
            let formula = startsLikeFormula(bytes)
            if formula
                || bytes.contains(where: {
                    $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: ",") || $0 == 0x0A || $0 == 0x0D
                })
            {
                out.append(UInt8(ascii: "\""))
                if formula { out.append(UInt8(ascii: "'")) }
                for b in bytes {
                    if b == UInt8(ascii: "\"") { out.append(b) }
                    out.append(b)
                }
                out.append(UInt8(ascii: "\""))
            } else {
                out += bytes
            }
        }
        out += [0x0D, 0x0A]
    }

    /// Whether a spreadsheet would read the cell as a formula: it starts with `=` `+` `-` `@`, tab
    /// or CR, and is not a plain decimal number.
    static func startsLikeFormula(_ bytes: String.UTF8View) -> Bool {
        guard let first = bytes.first, [UInt8(ascii: "="), 0x2B, 0x2D, 0x40, 0x09, 0x0D].contains(first) else {
            return false
        }
        return !isPlainNumber(bytes)
    }

    /// `-12`, `+0.5`, `-1.5e-07`: an optional sign, digits with an optional fraction, an optional exponent.
    static func isPlainNumber(_ bytes: String.UTF8View) -> Bool {
        var rest = bytes[...]
        func digits() -> Int {
            let n = rest.prefix(while: { $0 >= 0x30 && $0 <= 0x39 }).count
            rest = rest.dropFirst(n)
            return n
        }
        if let sign = rest.first, sign == 0x2B || sign == 0x2D { rest = rest.dropFirst() }
        var count = digits()
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst()
            count += digits()
        }
        guard count > 0 else { return false }
        if let e = rest.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            rest = rest.dropFirst()
            if let sign = rest.first, sign == 0x2B || sign == 0x2D { rest = rest.dropFirst() }
            guard digits() > 0 else { return false }
        }
        return rest.isEmpty
    }

    /// The lot code of an item as a regulator reads it.
    static func lotCode(_ ref: LotRef) -> String {
        switch ref.kind {
        case .lot: ref.lot
        case .serial: ref.lot.isEmpty ? "serial \(ref.serial)" : "\(ref.lot) (serial \(ref.serial))"
        case .container: "container \(ref.container)"
        case .untracked, .incomplete: ""
        }
    }

    static func place(_ plant: String, _ location: String) -> String {
        [plant, location].filter { !$0.isEmpty }.joined(separator: " / ")
    }

    static func rows(_ content: ExportContent) -> [Row] {
        // Where each lot code was assigned: by its supplier (received) or by the plant.
        var supplierOf: [LotRef: (supplier: String, lot: String)] = [:]
        // Consumptions by work order (order-level) and by output (`into`).
        var byOrder: [String: [ExportedEvent]] = [:]
        var byOutput: [LotRef: [ExportedEvent]] = [:]
        var produced: Set<LotRef> = []
        for e in content.events where e.stored.correction == nil {
            switch e.event.body {
            case .received(let b): supplierOf[b.lot] = (b.supplier, b.supplierLot)
            case .consumed(let b):
                if let into = b.into {
                    byOutput[into, default: []].append(e)
                } else if !e.event.workOrder.isEmpty {
                    byOrder[e.event.workOrder, default: []].append(e)
                }
            case .produced(let b): produced.insert(b.output)
            default: break
            }
        }
        func source(_ ref: LotRef, _ e: ExportedEvent) -> String {
            if let s = supplierOf[ref] { return s.supplier }
            return place(e.place, "")
        }

        var rows: [Row] = []
        var contents: [String: [LotRef]] = [:]  // container → items packed now
        func expand(_ ref: LotRef, depth: Int = 0) -> [LotRef] {
            guard ref.kind == .container, depth < 16, let items = contents[ref.container], !items.isEmpty else {
                return [ref]
            }
            return items.flatMap { expand($0, depth: depth + 1) }
        }
        for e in content.events where e.stored.correction == nil {
            var base = Row()
            let time = e.time
            base["Event ID"] = e.event.eventID
            base["Event Date"] = time.date(e.event.occurredAtMs)
            base["Event Time"] = time.time(e.event.occurredAtMs)
            base["Work Order"] = e.event.workOrder
            base["Operator"] = e.event.operatorID
            base["Recorded By"] = e.stored.client
            base["Store Sequence"] = String(e.stored.sequence)
            func item(_ row: inout Row, _ ref: LotRef, _ qty: Quantity?) {
                row["Traceability Lot Code"] = lotCode(ref)
                row["Product"] = ref.product
                row["Product Description"] = ref.product
                row["Quantity"] = qty.map { JSON.numberText($0.value) } ?? ""
                row["Unit of Measure"] = qty?.uom ?? ""
            }
            func input(_ row: inout Row, _ ref: LotRef, _ qty: Quantity?) {
                row["Input Traceability Lot Code"] = lotCode(ref)
                row["Input Product"] = ref.product
                row["Input Product Description"] = ref.product
                row["Input Quantity"] = qty.map { JSON.numberText($0.value) } ?? ""
                row["Input Unit of Measure"] = qty?.uom ?? ""
            }
            switch e.event.body {
            case .received(let b):
                var row = base
                row["Critical Tracking Event"] = "Receiving"
                item(&row, b.lot, b.qty)
                row["Location of Event"] = place(e.place, b.location)
                row["Immediate Previous Source"] = b.supplier
                row["Traceability Lot Code Source"] = b.supplier
                row["Supplier Lot Code"] = b.supplierLot
                if !b.purchaseOrder.isEmpty {
                    row["Reference Document Type"] = "Purchase Order"
                    row["Reference Document Number"] = b.purchaseOrder
                }
                rows.append(row)
            case .shipped(let b):
                let items = expand(b.lot)
                for ref in items {
                    var row = base
                    row["Critical Tracking Event"] = "Shipping"
                    item(&row, ref, items.count == 1 ? b.qty : nil)
                    row["Location of Event"] = place(e.place, "")
                    row["Immediate Subsequent Recipient"] = b.customer
                    row["Ship-To Location"] = b.destination
                    row["Traceability Lot Code Source"] = source(ref, e)
                    row["Supplier Lot Code"] = supplierOf[ref]?.lot ?? ""
                    if !b.delivery.isEmpty {
                        row["Reference Document Type"] = "Delivery Note"
                        row["Reference Document Number"] = b.delivery
                    }
                    rows.append(row)
                }
            case .produced(let b):
                var inputs = byOutput[b.output] ?? []
                if !e.event.workOrder.isEmpty { inputs += byOrder[e.event.workOrder] ?? [] }
                inputs.sort { $0.stored.sequence < $1.stored.sequence }
                rows += transformationRows(
                    base, output: b.output, qty: b.good, location: b.location, e: e, inputs: inputs
                ) {
                    item(&$0, b.output, b.good)
                } input: { row, c in
                    if case .consumed(let consumed) = c.event.body { input(&row, consumed.component, consumed.qty) }
                }
            case .consumed(let b):
                // A direct consumption into an output no production report names: its own transformation.
                guard let into = b.into, !produced.contains(into),
                    byOutput[into]?.first?.stored.sequence == e.stored.sequence
                else { break }
                let inputs = byOutput[into] ?? []
                rows += transformationRows(base, output: into, qty: nil, location: "", e: e, inputs: inputs) {
                    item(&$0, into, nil)
                } input: { row, c in
                    if case .consumed(let consumed) = c.event.body { input(&row, consumed.component, consumed.qty) }
                }
            case .moved(let b):
                guard let newLot = b.newLot else { break }
                var row = base
                row["Critical Tracking Event"] = "Transformation"
                item(&row, newLot, b.qty)
                input(&row, b.lot, b.qty)
                row["Location of Event"] = place(e.place, b.toLocation)
                row["Traceability Lot Code Source"] = place(e.place, b.toLocation)
                row["Reference Document Type"] = "Split (move to a new lot)"
                row["Reference Document Number"] = e.event.eventID
                rows.append(row)
            case .packed(let b):
                var items = contents[b.container.container] ?? []
                if b.action == .delete {
                    items.removeAll { b.contents.contains($0) }
                } else {
                    for ref in b.contents where !items.contains(ref) { items.append(ref) }
                }
                contents[b.container.container] = items
            default:
                break
            }
        }
        return rows
    }

    static func transformationRows(
        _ base: Row, output: LotRef, qty: Quantity?, location: String, e: ExportedEvent, inputs: [ExportedEvent],
        item: (inout Row) -> Void, input: (inout Row, ExportedEvent) -> Void
    ) -> [Row] {
        var head = base
        head["Critical Tracking Event"] = "Transformation"
        item(&head)
        head["Location of Event"] = place(e.place, location.isEmpty ? e.event.workCenter : location)
        head["Traceability Lot Code Source"] = place(e.place, location.isEmpty ? e.event.workCenter : location)
        if !e.event.workOrder.isEmpty {
            head["Reference Document Type"] = "Production Order"
            head["Reference Document Number"] = e.event.workOrder
        }
        guard !inputs.isEmpty else { return [head] }
        return inputs.map { c in
            var row = head
            input(&row, c)
            return row
        }
    }
}
