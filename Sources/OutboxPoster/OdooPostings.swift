import Foundation
public import MESDomain
public import Odoo

/// The Odoo call sequences of each posting (DESIGN.md, "Odoo: facts for the posting service"),
/// each idempotent by a business key: lots by (name, product), orders by name and absolute
/// totals, scraps by `origin = MES:<event id>`, downtime and quality notes by a `[MES:<key>]`
/// marker in their text. A crash between "Odoo did it" and "marked posted" finds the record
/// again instead of making a second one.
///
/// Not `Sendable`: runs on the poster's thread with its client; caches ids Odoo never changes.
public final class OdooPostings {
    public let client: OdooClient
    private var productIDs: [String: Int] = [:]
    private var lotIDs: [String: Int] = [:]
    private var workcenterIDs: [String: Int] = [:]
    private var lossIDs: [String: Int] = [:]
    /// The consumption last written per raw move, so unchanged moves are not written again.
    private var writtenMoves: [Int: [String: Double]] = [:]
    /// Raw moves of an order: move id and product code.
    private var orderMoves: [Int: [(id: Int, product: String)]] = [:]
    /// Orders as this poster last left them (its own writes applied), so a coalesced posting
    /// does not read the order again; forgotten after any failure.
    private var knownOrders: [String: JSONValue] = [:]

    /// Whether marking an order done with less than planned keeps a backorder for the rest
    /// (`mo_ids_to_backorder`) instead of closing it (`skip_backorder`).
    public let keepBackorders: Bool

    public init(client: OdooClient, keepBackorders: Bool = false) {
        self.client = client
        self.keepBackorders = keepBackorders
    }

    /// Forgets what was written (after a failure, Odoo's state is no longer known).
    public func forgetWrites() {
        writtenMoves = [:]
        orderMoves = [:]
        knownOrders = [:]
    }

    /// The fields an order is read with; `lot_producing_ids` from 19 on.
    var lotField: String { client.usesJSON2 ? "lot_producing_ids" : "lot_producing_id" }

    // MARK: Production and consumption (coalesced per order)

    /// Brings the order `name` to what the plant reported: output lot(s) and qty_producing, the
    /// component lots on the raw moves, and done when the plant said it is complete.
    /// Returns a summary of what Odoo holds now.
    public func postOrder(_ name: String, report: OrderReport) throws(OdooError) -> String {
        try client.connect()
        var found = knownOrders[name]
        if found == nil { found = try findOrder(name) }
        guard let order = found else {
            throw OdooError(.permanent, name: "mesgate.NoSuchOrder", message: "no mrp.production named \(name) in Odoo")
        }
        let id = order["id"]?.int ?? 0
        let state = order["state"]?.string ?? ""
        let producing = order["qty_producing"]?.double ?? 0
        if state == "cancel" {
            throw OdooError(.permanent, name: "mesgate.OrderCancelled", message: "\(name) is cancelled in Odoo")
        }
        if state == "done" {
            if abs(producing - report.good) < 1e-9 { return "order \(name) (\(id)) already done, qty \(producing)" }
            throw OdooError(
                .permanent, name: "mesgate.OrderDone",
                message: "\(name) is done in Odoo with \(producing) produced; the plant reports \(report.good)")
        }
        // Output lot(s) and the produced quantity.
        var vals: [String: JSONValue] = [:]
        let productID = order["product_id"]?.many2oneID ?? 0
        var lotIDs: [Int] = []
        for output in report.outputs {
            lotIDs.append(try lot(lotName(output), productID: productID, product: output.product))
        }
        if client.usesJSON2 {
            let current = Set(order["lot_producing_ids"]?.array?.compactMap(\.int) ?? [])
            if current != Set(lotIDs) && !lotIDs.isEmpty {
                vals["lot_producing_ids"] = [[6, 0, .array(lotIDs.map { .int($0) })]]
            }
        } else {
            if lotIDs.count > 1 {
                throw OdooError(
                    .permanent, name: "mesgate.SeveralOutputLots",
                    message:
                        "\(name) reports \(lotIDs.count) output lots; Odoo \(client.majorVersion ?? 0) holds one per order"
                )
            }
            if let lot = lotIDs.first, order["lot_producing_id"]?.many2oneID != lot {
                vals["lot_producing_id"] = .int(lot)
            }
        }
        if abs(producing - report.good) > 1e-9 { vals["qty_producing"] = .double(report.good) }

        // Component lots on the raw moves: the move lines are replaced by the reported totals,
        // in the same write as the order (one-to-many update commands), so one call per posting.
        let moves = try rawMoves(order: id, moveIDs: order["move_raw_ids"]?.array?.compactMap(\.int) ?? [])
        var moveUpdates: [JSONValue] = []
        var written: [Int: [String: Double]] = [:]
        for (product, lots) in report.consumed.sorted(by: { $0.key < $1.key }) {
            guard let move = moves.first(where: { $0.product == product }) else {
                throw OdooError(
                    .permanent, name: "mesgate.NoSuchComponent",
                    message: "\(name) has no raw move for component \(product)")
            }
            if writtenMoves[move.id] == lots { continue }
            var commands: [JSONValue] = [[5, 0, 0]]
            for (lot, qty) in lots.sorted(by: { $0.key < $1.key }) {
                var line: [String: JSONValue] = ["quantity": .double(qty), "picked": true]
                if !lot.isEmpty { line["lot_id"] = .int(try self.lot(lot, productID: nil, product: product)) }
                commands.append([0, 0, .object(line)])
            }
            moveUpdates.append([1, .int(move.id), ["move_line_ids": .array(commands), "picked": true]])
            written[move.id] = lots
        }
        if !moveUpdates.isEmpty { vals["move_raw_ids"] = .array(moveUpdates) }
        if !vals.isEmpty { try client.write("mrp.production", [id], vals) }
        writtenMoves.merge(written) { _, new in new }
        if case .object(var known) = order {
            known["qty_producing"] = .double(report.good)
            if client.usesJSON2 {
                known["lot_producing_ids"] = .array(lotIDs.map { .int($0) })
            } else if let lot = lotIDs.first {
                known["lot_producing_id"] = [.int(lot), .string(lotName(report.outputs[0]))]
            }
            knownOrders[name] = .object(known)
        }
        guard report.completed else { return "order \(name) (\(id)): producing \(report.good)" }
        knownOrders[name] = nil
        let context: [String: JSONValue] =
            keepBackorders ? ["mo_ids_to_backorder": [.int(id)]] : ["skip_backorder": true]
        let answer = try client.call("mrp.production", "button_mark_done", ids: [id], context: context)
        if answer != .bool(true) {
            // A wizard instead of true: look at what Odoo did.
            let after = try client.read("mrp.production", [id], fields: ["state"]).first?["state"]?.string
            if after != "done" {
                let wizard = answer["res_model"]?.string ?? "an unknown action"
                throw OdooError(
                    .permanent, name: "mesgate.Wizard", message: "marking \(name) done opened \(wizard) instead")
            }
        }
        return "order \(name) (\(id)) done, qty \(report.good)"
    }

    /// The order by name, or by `origin = MES:<name>`.
    func findOrder(_ name: String) throws(OdooError) -> JSONValue? {
        let fields = ["name", "state", "product_id", "product_qty", "qty_producing", "move_raw_ids", lotField]
        if let order = try client.searchRead(
            "mrp.production", [["name", "=", .string(name)]], fields: fields, limit: 1
        ).first {
            return order
        }
        return try client.searchRead(
            "mrp.production", [["origin", "=", .string("MES:\(name)")]], fields: fields, limit: 1
        ).first
    }

    private func rawMoves(order: Int, moveIDs: [Int]) throws(OdooError) -> [(id: Int, product: String)] {
        if let known = orderMoves[order], known.count == moveIDs.count { return known }
        var moves: [(id: Int, product: String)] = []
        for move in try client.read("stock.move", moveIDs, fields: ["product_id"]) {
            guard let id = move["id"]?.int, let productID = move["product_id"]?.many2oneID else { continue }
            moves.append((id, try productCode(productID)))
        }
        orderMoves[order] = moves
        return moves
    }

    // MARK: Scrap

    /// One `stock.scrap`, found by `origin = MES:<event id>` or created, then validated.
    public func postScrap(_ event: Event, _ scrap: Scrapped) throws(OdooError) -> String {
        try client.connect()
        let origin = "MES:\(event.eventID)"
        var scrapID: Int
        var state = ""
        if let found = try client.searchRead(
            "stock.scrap", [["origin", "=", .string(origin)]], fields: ["state"], limit: 1
        ).first,
            let id = found["id"]?.int
        {
            scrapID = id
            state = found["state"]?.string ?? ""
        } else {
            let productID = try product(scrap.lot.product)
            var vals: [String: JSONValue] = [
                "product_id": .int(productID), "scrap_qty": .double(scrap.qty?.value ?? 0), "origin": .string(origin),
            ]
            let name = lotName(scrap.lot)
            if !name.isEmpty { vals["lot_id"] = .int(try lot(name, productID: productID, product: scrap.lot.product)) }
            if !event.workOrder.isEmpty, let order = try findOrder(event.workOrder), let id = order["id"]?.int {
                vals["production_id"] = .int(id)
            }
            scrapID = try client.create("stock.scrap", vals)
        }
        if state != "done" {
            let answer = try client.call("stock.scrap", "action_validate", ids: [scrapID])
            if answer != .bool(true), answer["res_model"]?.string == "stock.warn.insufficient.qty.scrap" {
                // Odoo asks to confirm scrapping more than it thinks is on hand: the plant did scrap it.
                let wizard = try client.create(
                    "stock.warn.insufficient.qty.scrap",
                    ["scrap_id": .int(scrapID), "product_id": .int(try product(scrap.lot.product))])
                _ = try client.call("stock.warn.insufficient.qty.scrap", "action_done", ids: [wizard])
            }
        }
        return "stock.scrap \(scrapID) done"
    }

    // MARK: Downtime

    /// A `mrp.workcenter.productivity` with a loss: created when the stop is first reported, its
    /// end written when a later report closes it. Keyed by work center and start time.
    public func postDowntime(_ event: Event, _ downtime: DowntimeReported) throws(OdooError) -> String {
        try client.connect()
        let marker = "[MES:\(event.workCenter)@\(downtime.startedAtMs)]"
        let found = try client.searchRead(
            "mrp.workcenter.productivity", [["description", "ilike", .string(marker)]], fields: ["date_end"], limit: 1
        ).first
        let end: JSONValue = downtime.endedAtMs > 0 ? .string(Self.odooDate(downtime.endedAtMs)) : false
        if let found, let id = found["id"]?.int {
            if downtime.endedAtMs > 0 && found["date_end"]?.isFalsy != false {
                try client.write("mrp.workcenter.productivity", [id], ["date_end": end])
                return "mrp.workcenter.productivity \(id) closed"
            }
            return "mrp.workcenter.productivity \(id) already recorded"
        }
        let id = try client.create(
            "mrp.workcenter.productivity",
            [
                "workcenter_id": .int(try workcenter(event.workCenter)), "loss_id": .int(try loss(downtime.loss)),
                "date_start": .string(Self.odooDate(downtime.startedAtMs)), "date_end": end,
                "description": .string("\(downtime.reason) \(marker)"),
            ])
        return "mrp.workcenter.productivity \(id) created"
    }

    // MARK: Quality

    /// A quality result as a note in the lot's chatter (Community has no quality models).
    public func postQuality(_ event: Event, _ result: QualityResult) throws(OdooError) -> String {
        try client.connect()
        let name = lotName(result.lot)
        guard !name.isEmpty else { return "no Odoo record for \(result.lot): nothing to post" }
        let lotID = try lot(name, productID: nil, product: result.lot.product)
        let marker = "[MES:\(event.eventID)]"
        let existing = try client.search(
            "mail.message",
            [["model", "=", "stock.lot"], ["res_id", "=", .int(lotID)], ["body", "ilike", .string(marker)]], limit: 1)
        if let id = existing.first { return "mail.message \(id) already posted" }
        let outcome =
            switch result.outcome {
            case .pass: "PASS"
            case .fail: "FAIL"
            case .warn: "WARN"
            case .unspecified: "UNSPECIFIED"
            }
        let measurements = result.measurements.map { "\($0.name) \($0.value) \($0.unit)" }.joined(separator: ", ")
        let body = "Quality check \(result.check): \(outcome) \(measurements) \(marker)"
        let id = try client.call("stock.lot", "message_post", ids: [lotID], ["body": .string(body)])
        return "mail.message \(id.int ?? 0) posted on stock.lot \(lotID)"
    }

    // MARK: Lookups

    /// The lot (name, product): found, or created when Odoo has none.
    func lot(_ name: String, productID known: Int?, product code: String) throws(OdooError) -> Int {
        var productID = known ?? 0
        if known == nil { productID = try product(code) }
        let key = "\(productID)/\(name)"
        if let id = lotIDs[key] { return id }
        let domain: JSONValue = [["name", "=", .string(name)], ["product_id", "=", .int(productID)]]
        var id = try client.search("stock.lot", domain, limit: 1).first ?? 0
        if id == 0 {
            id = try client.create(
                "stock.lot", ["name": .string(name), "product_id": .int(productID), "company_id": 1])
        }
        lotIDs[key] = id
        return id
    }

    func product(_ code: String) throws(OdooError) -> Int {
        if let id = productIDs[code] { return id }
        guard let id = try client.search("product.product", [["default_code", "=", .string(code)]], limit: 1).first
        else {
            throw OdooError(.permanent, name: "mesgate.NoSuchProduct", message: "no product.product with code \(code)")
        }
        productIDs[code] = id
        return id
    }

    func productCode(_ id: Int) throws(OdooError) -> String {
        if let code = productIDs.first(where: { $0.value == id })?.key { return code }
        let code =
            try client.read("product.product", [id], fields: ["default_code"]).first?["default_code"]?.string ?? ""
        productIDs[code] = id
        return code
    }

    private func workcenter(_ name: String) throws(OdooError) -> Int {
        if let id = workcenterIDs[name] { return id }
        guard let id = try client.search("mrp.workcenter", [["name", "=", .string(name)]], limit: 1).first else {
            throw OdooError(.permanent, name: "mesgate.NoSuchWorkCenter", message: "no mrp.workcenter named \(name)")
        }
        workcenterIDs[name] = id
        return id
    }

    private func loss(_ loss: DowntimeReported.Loss) throws(OdooError) -> Int {
        let type =
            switch loss {
            case .performance: "performance"
            case .quality: "quality"
            case .availability, .unspecified: "availability"
            }
        if let id = lossIDs[type] { return id }
        guard
            let id = try client.search(
                "mrp.workcenter.productivity.loss", [["loss_type", "=", .string(type)]], limit: 1
            )
            .first
        else {
            throw OdooError(.permanent, name: "mesgate.NoSuchLoss", message: "no productivity loss of type \(type)")
        }
        lossIDs[type] = id
        return id
    }

    /// Odoo's datetime text, UTC: `2026-11-27 06:00:00`.
    static func odooDate(_ ms: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
