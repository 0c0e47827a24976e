public import Odoo

/// Compares what the plant reported for an order with what Odoo shows: produced quantity and
/// lots, consumed lots and quantities per component, scrap. Runs on the caller's thread.
public struct Reconciler {
    let postings: OdooPostings

    public init(postings: OdooPostings) { self.postings = postings }

    /// The differences for order `name`; empty when Odoo agrees with the plant.
    public func differences(order name: String, report: OrderReport) throws(OdooError) -> [String] {
        let client = postings.client
        try client.connect()
        // The order and, when Odoo split it (17/18: one lot per order) or kept a backorder, its family.
        let family = try postings.findFamily(name)
        guard !family.isEmpty else { return ["\(name): not in Odoo"] }
        let ids = family.compactMap { $0["id"]?.int }
        var diffs: [String] = []
        let producing = family.map { $0["qty_producing"]?.double ?? 0 }.reduce(0, +)
        if abs(producing - report.good) > 1e-6 {
            diffs.append("\(name): produced plant \(report.good), Odoo \(producing)")
        }
        // A backorder kept for the rest (nothing produced on it) need not be done.
        let worked = family.filter { ($0["qty_producing"]?.double ?? 0) > 0 }
        let states = Set((worked.isEmpty ? [family[0]] : worked).map { $0["state"]?.string ?? "" })
        if report.completed && states != ["done"] {
            diffs.append("\(name): complete in the plant, \(states.sorted().joined(separator: "/")) in Odoo")
        }
        var lotIDs: [Int] = []
        for order in family {
            let value = order[postings.lotField] ?? .null
            if client.usesJSON2 {
                lotIDs += value.array?.compactMap(\.int) ?? []
            } else if let id = value.many2oneID {
                lotIDs.append(id)
            }
        }
        let lots = lotIDs.isEmpty ? [] : try client.read("stock.lot", lotIDs, fields: ["name"])
        let odooLots = Set(lots.compactMap { $0["name"]?.string })
        let plantLots = Set(report.outputs.map(lotName))
        if plantLots != odooLots {
            diffs.append("\(name): output lots plant \(plantLots.sorted()), Odoo \(odooLots.sorted())")
        }
        // Consumption: the picked move lines of the raw moves.
        let moveIDs = family.flatMap { $0["move_raw_ids"]?.array?.compactMap(\.int) ?? [] }
        var odooConsumed: [String: [String: Double]] = [:]
        if !moveIDs.isEmpty {
            let lines = try client.searchRead(
                "stock.move.line", [["move_id", "in", .array(moveIDs.map { .int($0) })]],
                fields: ["product_id", "lot_id", "quantity"])
            for line in lines {
                let product = try postings.productCode(line["product_id"]?.many2oneID ?? 0)
                let lot = line["lot_id"]?.array?.last?.string ?? ""
                odooConsumed[product, default: [:]][lot, default: 0] += line["quantity"]?.double ?? 0
            }
        }
        diffs += compare(name, "consumed", report.consumed, odooConsumed)
        // Scrap booked against the order.
        var odooScrapped: [String: [String: Double]] = [:]
        for scrap in try client.searchRead(
            "stock.scrap", [["production_id", "in", .array(ids.map { .int($0) })], ["state", "=", "done"]],
            fields: ["product_id", "lot_id", "scrap_qty"])
        {
            let product = try postings.productCode(scrap["product_id"]?.many2oneID ?? 0)
            let lot = scrap["lot_id"]?.array?.last?.string ?? ""
            odooScrapped[product, default: [:]][lot, default: 0] += scrap["scrap_qty"]?.double ?? 0
        }
        diffs += compare(name, "scrapped", report.scrapped, odooScrapped)
        return diffs
    }

    private func compare(
        _ name: String, _ what: String, _ plant: [String: [String: Double]], _ odoo: [String: [String: Double]]
    ) -> [String] {
        var diffs: [String] = []
        for product in Set(plant.keys).union(odoo.keys).sorted() {
            let p = plant[product] ?? [:]
            let o = odoo[product] ?? [:]
            for lot in Set(p.keys).union(o.keys).sorted() {
                let a = p[lot] ?? 0
                let b = o[lot] ?? 0
                if abs(a - b) > 1e-6 {
                    let label = lot.isEmpty ? product : "\(product)/\(lot)"
                    diffs.append("\(name): \(what) \(label) plant \(a), Odoo \(b)")
                }
            }
        }
        return diffs
    }
}
