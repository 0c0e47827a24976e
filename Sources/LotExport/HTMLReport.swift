import GenealogyStore
import MESDomain

/// A self-contained, printable HTML lot report: summary, the genealogy picture (inline SVG from
/// graphviz, when installed and the graph is small enough to read), holds, the lots reached, and
/// every event with its quantities, who sent it and when (the plant's local time with its offset).
/// No scripts, no external resources; every text from the store is escaped.
public enum HTMLReport {
    /// Graphs with more boxes than this are not drawn (a picture of thousands of lots helps nobody
    /// and takes graphviz minutes); the DOT export has them all.
    static let maxPictureNodes = 400

    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static let style = """
        body{font-family:Helvetica,Arial,sans-serif;font-size:13px;color:#222;margin:24px}
        h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #ccc}
        .meta{color:#555}.warn{color:#a61b1b;font-weight:bold}
        tr.corrected td{color:#888;text-decoration:line-through}tr.corrected td:nth-child(4){text-decoration:none}
        table{border-collapse:collapse;width:100%;margin-bottom:8px}
        th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}td.when{white-space:nowrap}
        th{background:#eef1f5}td.num{text-align:right;white-space:nowrap}
        tr.hold td{background:#fbe3e3}.picture{overflow:auto;border:1px solid #ddd;padding:4px}
        .picture svg{max-width:100%;height:auto}
        @page{size:A4 landscape;margin:12mm}
        @media print{body{margin:0;font-size:10px}.picture{border:none;overflow:visible}
        h2{break-after:avoid;page-break-after:avoid}section{break-before:auto}
        section.events{break-before:page;page-break-before:always}
        thead{display:table-header-group}tr,td,th{break-inside:avoid;page-break-inside:avoid}
        .picture svg{max-height:180mm}}
        """

    static func document(_ content: ExportContent, svg: (String) throws -> [UInt8]) -> [UInt8] {
        var html = ""
        html.reserveCapacity(content.events.count * 400 + 8192)
        let startLabel = GenealogyPicture.label(TraceNodeRef(lot: content.start))
        html += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        html += "<title>Lot report: \(escape(startLabel))</title><style>\(style)</style></head><body>\n"
        html += "<h1>Lot report: \(escape(startLabel))</h1>\n"
        html += "<p class=\"meta\">Genealogy \(escape(content.directionText)); generated "
        html += "\(LocalTime.utc.readable(content.createdAtMs)) (UTC) by mesgate.</p>\n"
        if content.truncated {
            html += "<p class=\"warn\">The trace was cut short by the node limit: lots beyond it are missing.</p>\n"
        }
        if !content.undecodable.isEmpty {
            html +=
                "<p class=\"warn\">\(content.undecodable.count) stored events could not be decoded and are not shown"
            html +=
                " (sequences \(content.undecodable.prefix(20).map { String($0.sequence) }.joined(separator: ", "))).</p>\n"
        }
        summary(content, into: &html)
        picture(content, svg: svg, into: &html)
        holds(content, into: &html)
        items(content, into: &html)
        events(content, into: &html)
        html += "</body></html>\n"
        return Array(html.utf8)
    }

    static func summary(_ content: ExportContent, into html: inout String) {
        let items = content.items
        let held = items.filter { $0.status == "hold" }.count
        html += "<section><h2>Summary</h2><table><tbody>\n"
        func row(_ name: String, _ value: String) {
            html += "<tr><th>\(escape(name))</th><td>\(escape(value))</td></tr>\n"
        }
        row("Lot", startLabel(content))
        row("Status", items.first(where: { $0.ref.lot == content.start })?.status ?? "")
        row("Lots, serials and containers reached", String(items.count))
        row("Events", String(content.events.count))
        row("Holds", "\(content.holds.count) (\(held) items held now)")
        let receipts = content.backward?.receipts ?? []
        let shipments = content.forward?.shipments ?? []
        if content.backward != nil {
            row(
                "Suppliers",
                Set(receipts.map(\.supplier)).sorted().joined(separator: ", ") + " (\(receipts.count) receipts)")
        }
        if content.forward != nil {
            row(
                "Customers",
                Set(shipments.map(\.customer)).sorted().joined(separator: ", ") + " (\(shipments.count) shipments)")
        }
        html += "</tbody></table></section>\n"
    }

    static func startLabel(_ content: ExportContent) -> String {
        GenealogyPicture.label(TraceNodeRef(lot: content.start))
    }

    /// The picture section; without graphviz (or when `dot` fails) it says why there is no picture.
    static func picture(_ content: ExportContent, svg: (String) throws -> [UInt8], into html: inout String) {
        let picture = GenealogyPicture(
            results: [content.backward, content.forward].compactMap { $0 }, start: content.start,
            direction: content.direction)
        html += "<section><h2>Genealogy</h2>\n"
        guard picture.nodeCount <= maxPictureNodes else {
            html += "<p>The genealogy has \(picture.nodeCount) boxes, too many to draw legibly; "
            html += "the DOT export has the whole graph.</p></section>\n"
            return
        }
        let bytes: [UInt8]
        do {
            bytes = try svg(picture.dot())
        } catch {
            html += "<p class=\"no-picture\">No picture: \(escape("\(error)")).</p></section>\n"
            return
        }
        guard let text = String(validating: bytes, as: UTF8.self), let open = text.range(of: "<svg") else {
            html += "<p class=\"no-picture\">No picture: graphviz's dot gave no SVG.</p></section>\n"
            return
        }
        // The SVG element alone (graphviz's XML prolog and DOCTYPE dropped); its text is escaped by graphviz.
        html += "<div class=\"picture\">" + text[open.lowerBound...] + "</div></section>\n"
    }

    static func holds(_ content: ExportContent, into html: inout String) {
        html += "<section><h2>Holds</h2>\n"
        guard !content.holds.isEmpty else {
            html += "<p>No hold covers these lots.</p></section>\n"
            return
        }
        html +=
            "<table><thead><tr><th>Hold</th><th>Placed on</th><th>Reason</th><th>Placed by</th><th>Placed at (UTC)</th>"
        html += "<th>Propagates</th><th>Items covered here</th><th>Released</th></tr></thead><tbody>\n"
        for hold in content.holds {
            let released =
                hold.releasedAtMs.map {
                    "\(LocalTime.utc.readable($0)) by \(hold.releasedBy)"
                        + (hold.releaseReason.isEmpty ? "" : ": \(hold.releaseReason)")
                } ?? "open"
            html += "<tr\(hold.releasedAtMs == nil ? " class=\"hold\"" : "")><td class=\"num\">\(hold.id)</td>"
            html += "<td>\(escape(GenealogyPicture.label(TraceNodeRef(lot: hold.root))))</td>"
            html += "<td>\(escape(hold.reason))</td><td>\(escape(hold.placedBy))</td>"
            html += "<td>\(LocalTime.utc.readable(hold.placedAtMs))</td><td>\(hold.propagate ? "yes" : "no")</td>"
            html += "<td class=\"num\">\(hold.items.count)</td><td>\(escape(released))</td></tr>\n"
        }
        html += "</tbody></table></section>\n"
    }

    static func items(_ content: ExportContent, into html: inout String) {
        html += "<section><h2>Lots, serials and containers</h2>\n"
        html += "<table><thead><tr><th>Item</th><th>Status</th><th>Steps from the start</th><th>Direction</th>"
        html += "</tr></thead><tbody>\n"
        var seen: Set<TraceNodeRef> = []
        for (name, result) in [("backward", content.backward), ("forward", content.forward)] {
            guard let result else { continue }
            for node in result.nodes where node.ref.lot != nil && seen.insert(node.ref).inserted {
                html += "<tr\(node.status == "hold" ? " class=\"hold\"" : "")>"
                html += "<td>\(escape(GenealogyPicture.label(node.ref) + TraceRenderer.plantNote(node.plant)))</td>"
                html += "<td>\(escape(node.status))</td>"
                html += "<td class=\"num\">\(node.depth)</td><td>\(node.depth == 0 ? "start" : name)</td></tr>\n"
            }
        }
        html += "</tbody></table></section>\n"
    }

    static func events(_ content: ExportContent, into html: inout String) {
        html += "<section class=\"events\"><h2>Events</h2>\n"
        html += "<table><thead><tr><th>Seq.</th><th>When (plant time)</th><th>Event</th><th>What</th>"
        html += "<th>Quantity</th><th>Work order</th><th>Where</th><th>Operator</th><th>Client</th>"
        html += "<th>Event ID</th></tr></thead><tbody>\n"
        for e in content.events {
            var (what, qty, place) = describe(e.event, plant: e.place)
            if let c = e.stored.correction {
                what += c.isVoid ? " (VOIDED" : " (REPLACED by \(c.replacementEventID)"
                what += ": correction \(c.id) by \(c.by): \(c.reason))"
            } else if !e.stored.corrects.isEmpty {
                what += " (replaces \(e.stored.corrects))"
            }
            html +=
                "<tr\(e.stored.correction == nil ? "" : " class=\"corrected\"")><td class=\"num\">\(e.stored.sequence)</td>"
            html +=
                "<td class=\"when\">\(escape(e.time.readable(e.event.occurredAtMs)))</td><td>\(escape(e.stored.kind))</td>"
            html += "<td>\(escape(what))</td><td class=\"num\">\(escape(qty))</td>"
            html += "<td>\(escape(e.event.workOrder))</td><td>\(escape(place))</td>"
            html += "<td>\(escape(e.event.operatorID))</td><td>\(escape(e.stored.client))</td>"
            html += "<td>\(escape(e.event.eventID))</td></tr>\n"
        }
        html += "</tbody></table></section>\n"
    }

    /// What happened, the quantity, and where, in the plant's words. `plant` is the event's own,
    /// else the store's plant of it (at a hub, the plant it came from).
    public static func describe(_ event: Event, plant: String) -> (String, String, String) {
        let label = { (ref: LotRef) in GenealogyPicture.label(TraceNodeRef(lot: ref)) }
        let q = GenealogyPicture.quantity
        let at = { (location: String) in
            [plant, event.workCenter, location].filter { !$0.isEmpty }.joined(separator: " / ")
        }
        switch event.body {
        case .received(let b):
            var what = "\(label(b.lot)) received from \(b.supplier)"
            if !b.supplierLot.isEmpty { what += " (supplier lot \(b.supplierLot))" }
            if !b.purchaseOrder.isEmpty { what += ", \(b.purchaseOrder)" }
            return (what, q(b.qty), at(b.location))
        case .consumed(let b):
            return (
                "\(label(b.component)) consumed" + (b.into.map { " into \(label($0))" } ?? ""), q(b.qty), at("")
            )
        case .produced(let b):
            let scrap = b.scrap.map { $0.value > 0 ? " (scrap \(q($0)))" : "" } ?? ""
            return ("\(label(b.output)) produced\(scrap)", q(b.good), at(b.location))
        case .operation(let b):
            return ("operation \(b.operation): \(b.state)", q(b.good), at(""))
        case .downtime(let b):
            return ("downtime (\(b.loss)): \(b.reason)", "", at(""))
        case .quality(let b):
            let m = b.measurements.map {
                "\($0.name) \(JSON.numberText($0.value))\($0.unit.isEmpty ? "" : " " + $0.unit)"
            }
            return (
                "\(label(b.lot)) check \(b.check): \(b.outcome)" + (m.isEmpty ? "" : " (\(m.joined(separator: ", ")))"),
                "",
                at("")
            )
        case .shipped(let b):
            var what = "\(label(b.lot)) shipped to \(b.customer)"
            if !b.delivery.isEmpty { what += ", \(b.delivery)" }
            return (what, q(b.qty), at(b.destination.isEmpty ? "" : "→ \(b.destination)"))
        case .scrapped(let b):
            return ("\(label(b.lot)) scrapped" + (b.reason.isEmpty ? "" : ": \(b.reason)"), q(b.qty), at(""))
        case .packed(let b):
            let items = b.contents.map(label).joined(separator: ", ")
            return (
                b.action == .delete
                    ? "\(items) unpacked from \(label(b.container))" : "\(items) packed into \(label(b.container))", "",
                at("")
            )
        case .moved(let b):
            let what =
                b.newLot.map { "\(label(b.lot)) split into \(label($0))" } ?? "\(label(b.lot)) moved"
            return ("\(what) (\(b.fromLocation) → \(b.toLocation))", q(b.qty), at(""))
        case nil:
            return ("(no body)", "", at(""))
        }
    }
}
