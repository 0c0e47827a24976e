public import GenealogyStore
import MESDomain
public import Odoo

/// Reads master data from Odoo through one `OdooClient` (either protocol): units of measure,
/// work centers, products and BoMs with their lines and operations, changed since a `write_date`.
/// Keeps what it learnt of units, product codes and work centers between reads.
///
/// Not `Sendable`: used on the thread that owns its client (the master data poller's, the
/// release poller's, or `mesgate masterdata sync`).
public final class OdooMasterData {
    private let client: OdooClient
    private var units: [Int: MasterUoM] = [:]
    private var productCodes: [Int: String] = [:]
    private var templateCodes: [Int: String] = [:]
    private var workCenters: [Int: MasterWorkCenter] = [:]

    public init(client: OdooClient) { self.client = client }

    /// Everything changed at or after `cursor` (everything when nil), and the newest `write_date`
    /// seen (the next cursor). Units are read whole every time (a few dozen; 19 needs every unit
    /// to find a unit's root); when one changed, every product is read again for its category.
    public func read(since cursor: String?) throws(OdooError) -> (items: [MasterDataWriter.Read], newest: String?) {
        var newest = cursor
        func seen(_ record: JSONValue) -> String {
            let written = record["write_date"]?.string ?? ""
            if written > (newest ?? "") { newest = written }
            return written
        }
        let changed: JSONValue = cursor.map { [["write_date", ">=", .string($0)]] } ?? []
        var items: [MasterDataWriter.Read] = []

        let (unitReads, unitsChanged) = try readUnits(seen)
        items += unitReads
        for record in try client.searchRead("mrp.workcenter", changed, fields: ["name", "code", "write_date"]) {
            guard let id = record["id"]?.int else { continue }
            let center = MasterWorkCenter(code: text(record["code"]), name: text(record["name"]))
            workCenters[id] = center
            items.append(.init(.workCenter(center), odooID: Int64(id), odooWriteDate: seen(record)))
        }
        let productDomain: JSONValue = unitsChanged ? [] : changed
        for record in try client.searchRead(
            "product.product", productDomain, fields: ["default_code", "name", "tracking", "uom_id", "write_date"])
        {
            guard let id = record["id"]?.int else { continue }
            let code = text(record["default_code"])
            productCodes[id] = code
            guard !code.isEmpty else { continue }  // events name products by code: one without is not theirs
            let unit = units[record["uom_id"]?.many2oneID ?? 0]
            let product = MasterProduct(
                code: code, name: text(record["name"]), tracking: record["tracking"]?.string ?? "none",
                uom: unit?.name ?? "", uomCategory: unit?.category ?? "")
            items.append(.init(.product(product), odooID: Int64(id), odooWriteDate: seen(record)))
        }
        // A BoM changes when it is written, and when one of its lines or operations is (Odoo's form
        // writes the BoM; a line written on its own leaves the BoM's write_date as it was).
        let withArchived: JSONValue = ["active", "in", [true, false]]
        var bomIDs = Set(
            try client.search(
                "mrp.bom", cursor.map { [["write_date", ">=", .string($0)], withArchived] } ?? [withArchived]))
        if cursor != nil {
            for model in ["mrp.bom.line", "mrp.routing.workcenter"] {
                for record in try client.searchRead(model, changed, fields: ["bom_id", "write_date"]) {
                    _ = seen(record)
                    if let id = record["bom_id"]?.many2oneID { bomIDs.insert(id) }
                }
            }
        }
        let boms = try readBOMs(bomIDs.sorted())
        for bom in boms where bom.odooWriteDate > (newest ?? "") { newest = bom.odooWriteDate }
        return (items + boms, newest)
    }

    /// The BoMs `ids` as Odoo has them now, with their lines and operations.
    public func readBOMs(_ ids: [Int]) throws(OdooError) -> [MasterDataWriter.Read] {
        guard !ids.isEmpty else { return [] }
        if units.isEmpty { _ = try readUnits { _ in "" } }
        var out: [MasterDataWriter.Read] = []
        for record in try client.read(
            "mrp.bom", ids,
            fields: [
                "product_tmpl_id", "product_id", "product_qty", "product_uom_id", "code", "sequence", "active",
                "bom_line_ids", "operation_ids", "write_date",
            ])
        {
            guard let id = record["id"]?.int else { continue }
            var written = record["write_date"]?.string ?? ""
            var lines: [MasterBOM.Line] = []
            let lineIDs = record["bom_line_ids"]?.array?.compactMap(\.int) ?? []
            if !lineIDs.isEmpty {
                for line in try client.read(
                    "mrp.bom.line", lineIDs, fields: ["product_id", "product_qty", "product_uom_id", "write_date"])
                {
                    written = max(written, line["write_date"]?.string ?? "")
                    lines.append(
                        MasterBOM.Line(
                            product: try productCode(line["product_id"]?.many2oneID),
                            qty: line["product_qty"]?.double ?? 0, uom: unitName(line["product_uom_id"])))
                }
            }
            var operations: [MasterBOM.Operation] = []
            let operationIDs = record["operation_ids"]?.array?.compactMap(\.int) ?? []
            if !operationIDs.isEmpty {
                for op in try client.read(
                    "mrp.routing.workcenter", operationIDs,
                    fields: ["name", "workcenter_id", "time_cycle_manual", "sequence", "write_date"])
                {
                    written = max(written, op["write_date"]?.string ?? "")
                    operations.append(
                        MasterBOM.Operation(
                            sequence: op["sequence"]?.int ?? 0, name: text(op["name"]),
                            workCenter: try workCenterKey(op["workcenter_id"]?.many2oneID),
                            minutes: op["time_cycle_manual"]?.double ?? 0))
                }
            }
            let product =
                record["product_id"]?.many2oneID != nil
                ? try productCode(record["product_id"]?.many2oneID)
                : try templateCode(record["product_tmpl_id"]?.many2oneID)
            let bom = MasterBOM(
                product: product, reference: text(record["code"]), qty: record["product_qty"]?.double ?? 0,
                uom: unitName(record["product_uom_id"]), sequence: record["sequence"]?.int ?? 0,
                active: record["active"] != .bool(false), lines: lines,
                operations: operations.sorted { ($0.sequence, $0.name) < ($1.sequence, $1.name) })
            out.append(.init(.bom(bom), odooID: Int64(id), odooWriteDate: written))
        }
        return out
    }

    // MARK: Units of measure

    /// Every unit; whether any differs from what was known.
    private func readUnits(_ seen: (JSONValue) -> String) throws(OdooError) -> ([MasterDataWriter.Read], Bool) {
        try client.connect()
        let modern = client.usesJSON2 || (client.majorVersion ?? 0) >= 19
        let fields =
            modern
            ? ["name", "relative_uom_id", "factor", "write_date"] : ["name", "category_id", "factor", "write_date"]
        let records = try client.searchRead("uom.uom", [["active", "in", [true, false]]], fields: fields)
        var parents: [Int: Int] = [:]
        var names: [Int: String] = [:]
        for record in records {
            guard let id = record["id"]?.int else { continue }
            names[id] = text(record["name"])
            if let parent = record["relative_uom_id"]?.many2oneID { parents[id] = parent }
        }
        var found: [Int: MasterUoM] = [:]
        var reads: [MasterDataWriter.Read] = []
        for record in records {
            guard let id = record["id"]?.int else { continue }
            let factor = record["factor"]?.double ?? 1
            let unit: MasterUoM
            if modern {
                // 19: no categories; units convert when they share a root, `factor` is absolute.
                var root = id
                var steps = 0
                while let parent = parents[root], steps < 32 {
                    root = parent
                    steps += 1
                }
                unit = MasterUoM(name: names[id] ?? "", category: names[root] ?? "", ratio: factor)
            } else {
                // 17/18: `factor` units of this make one of the category's reference unit.
                unit = MasterUoM(
                    name: names[id] ?? "", category: record["category_id"]?.array?.last?.string ?? "",
                    ratio: factor != 0 ? 1 / factor : 0)
            }
            found[id] = unit
            reads.append(.init(.uom(unit), odooID: Int64(id), odooWriteDate: seen(record)))
        }
        let changed = found != units
        units = found
        return (reads, changed)
    }

    private func unitName(_ value: JSONValue?) -> String {
        guard let id = value?.many2oneID else { return "" }
        return units[id]?.name ?? value?.array?.last?.string ?? ""
    }

    // MARK: Codes by id

    private func productCode(_ id: Int?) throws(OdooError) -> String {
        guard let id else { return "" }
        if let known = productCodes[id] { return known }
        let code = text(try client.read("product.product", [id], fields: ["default_code"]).first?["default_code"])
        productCodes[id] = code
        return code
    }

    private func templateCode(_ id: Int?) throws(OdooError) -> String {
        guard let id else { return "" }
        if let known = templateCodes[id] { return known }
        let code = text(try client.read("product.template", [id], fields: ["default_code"]).first?["default_code"])
        templateCodes[id] = code
        return code
    }

    private func workCenterKey(_ id: Int?) throws(OdooError) -> String {
        guard let id else { return "" }
        if workCenters[id] == nil, let record = try client.read("mrp.workcenter", [id], fields: ["name", "code"]).first
        {
            workCenters[id] = MasterWorkCenter(code: text(record["code"]), name: text(record["name"]))
        }
        guard let center = workCenters[id] else { return "" }
        return center.code.isEmpty ? center.name : center.code
    }

    /// A char field's text (Odoo answers `false` for an empty one).
    private func text(_ value: JSONValue?) -> String { value?.string ?? "" }
}
