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
        guard let order = try postings.findOrder(name), let id = order["id"]?.int else {
            return ["\(name): not in Odoo"]
        }
        var diffs: [String] = []
        let producing = order["qty_producing"]?.double ?? 0
        if abs(producing - report.good) > 1e-6 {
            diffs.append("\(name): produced plant \(report.good), Odoo \(producing)")
        }
        let state = order["state"]?.string ?? ""
        if report.completed && state != "done" { diffs.append("\(name): complete in the plant, \(state) in Odoo") }
        let lotValue = order[postings.lotField] ?? .null
        let odooLots: Set<String>
        if let ids = lotValue.array, client.usesJSON2 {
            let lots = try client.read("stock.lot", ids.compactMap(\.int), fields: ["name"])
            odooLots = Set(lots.compactMap { $0["name"]?.string })
        } else {
            odooLots = Set([lotValue.array?.last?.string].compactMap { $0 })
        }
        let plantLots = Set(report.outputs.map(lotName))
        if plantLots != odooLots {
            diffs.append("\(name): output lots plant \(plantLots.sorted()), Odoo \(odooLots.sorted())")
        }
        // Consumption: the picked move lines of the raw moves.
        let moveIDs = order["move_raw_ids"]?.array?.compactMap(\.int) ?? []
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
            "stock.scrap", [["production_id", "=", .int(id)], ["state", "=", "done"]],
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
