public import Odoo

/// Production and consumption, coalesced per order.
///
/// Odoo 19 records several output lots on one order (`lot_producing_ids`); 17 and 18 hold one
/// (`lot_producing_id`). There, an order the plant made several lots or serials on is split with
/// Odoo's own split wizard (`mrp.production.split`, `action_split`: what "Split" does in the UI,
/// and what Odoo itself does to give each serial its order): Odoo renames the original
/// `<name>-001` and numbers the others `<name>-002`, ... The i-th output (in the order the plant
/// first reported it) goes on the i-th order of that family with its own good quantity and the
/// consumption that names it (`into`); consumption that names no output goes on the first.
extension OdooPostings {
    /// Brings the order `name` to what the plant reported: output lot(s) and qty_producing, the
    /// component lots on the raw moves, and done when the plant said it is complete.
    /// Returns a summary of what Odoo holds now.
    public func postOrder(_ name: String, report: OrderReport) throws(OdooError) -> String {
        try client.connect()
        if !client.usesJSON2 && report.outputs.count > 1 { return try postSplitOrder(name, report: report) }
        var found = knownOrders[name]
        if found == nil { found = try findOrder(name) }
        guard let order = found else { throw Self.noSuchOrder(name) }
        let productID = order["product_id"]?.many2oneID ?? 0
        var lotIDs: [Int] = []
        for output in report.outputs {
            lotIDs.append(
                try lot(
                    lotName(output), productID: productID, product: output.product,
                    company: order["company_id"]?.many2oneID))
        }
        let answer = try postMember(
            order, name: name, lotIDs: lotIDs, good: report.good, consumed: report.consumed,
            withdrawn: report.withdrawn, completed: report.completed)
        if !report.completed, case .object(var known) = order {
            known["qty_producing"] = .double(report.good)
            if client.usesJSON2 {
                known["lot_producing_ids"] = .array(lotIDs.map { .int($0) })
            } else if let lot = lotIDs.first {
                known["lot_producing_id"] = [.int(lot), .string(lotName(report.outputs[0]))]
            }
            knownOrders[name] = .object(known)
        }
        return answer
    }

    /// 17/18, several outputs: one order of the family per output, split off when missing.
    private func postSplitOrder(_ name: String, report: OrderReport) throws(OdooError) -> String {
        knownOrders[name] = nil
        var family = try findFamily(name)
        // Split the last order until there is one per output. A crash after Odoo split and before
        // this is marked posted finds the family whole and splits nothing more.
        while family.count < report.outputs.count {
            guard let last = family.last else { throw Self.noSuchOrder(name) }
            let state = last["state"]?.string ?? ""
            guard state != "done" && state != "cancel", let lastID = last["id"]?.int else {
                throw OdooError(
                    .permanent, name: "mesgate.CannotSplit",
                    message:
                        "\(last["name"]?.string ?? name) is \(state) in Odoo: it cannot be split for the plant's \(report.outputs.count) output lots"
                )
            }
            let pieces = report.outputs.count - family.count + 1
            let wizard = try client.create(
                "mrp.production.split", ["production_id": .int(lastID), "counter": .int(pieces)])
            _ = try client.call("mrp.production.split", "action_split", ids: [wizard])
            family = try findFamily(name)
        }
        let productID = family[0]["product_id"]?.many2oneID ?? 0
        let named = Set(report.outputs.map(lotName))
        var answers: [String] = []
        for (index, output) in report.outputs.enumerated() {
            let member = family[index]
            let lot = lotName(output)
            var consumed = report.consumedInto[lot] ?? [:]
            if index == 0 {
                for (into, byProduct) in report.consumedInto where !named.contains(into) {
                    consumed.merge(byProduct) { a, b in a.merging(b, uniquingKeysWith: +) }
                }
            }
            answers.append(
                try postMember(
                    member, name: member["name"]?.string ?? name,
                    lotIDs: [
                        try self.lot(
                            lot, productID: productID, product: output.product,
                            company: member["company_id"]?.many2oneID)
                    ],
                    good: report.goodByOutput[lot] ?? 0, consumed: consumed, withdrawn: report.withdrawn,
                    completed: report.completed))
        }
        return "order \(name) in \(family.count) orders for \(report.outputs.count) lots: "
            + answers.joined(separator: "; ")
    }

    /// Writes one order: its output lot(s), good quantity and consumption (the raw moves of the
    /// `withdrawn` components it does not consume emptied), then marks it done when `completed`.
    private func postMember(
        _ order: JSONValue, name: String, lotIDs: [Int], good: Double, consumed: [String: [String: Double]],
        withdrawn: Set<String>, completed: Bool
    ) throws(OdooError) -> String {
        let id = order["id"]?.int ?? 0
        let state = order["state"]?.string ?? ""
        let producing = order["qty_producing"]?.double ?? 0
        if state == "cancel" {
            throw OdooError(.permanent, name: "mesgate.OrderCancelled", message: "\(name) is cancelled in Odoo")
        }
        if state == "done" {
            if abs(producing - good) < 1e-9 { return "order \(name) (\(id)) already done, qty \(producing)" }
            throw OdooError(
                .permanent, name: "mesgate.OrderDone",
                message: "\(name) is done in Odoo with \(producing) produced; the plant reports \(good)")
        }
        var vals: [String: JSONValue] = [:]
        if client.usesJSON2 {
            let current = Set(order["lot_producing_ids"]?.array?.compactMap(\.int) ?? [])
            if current != Set(lotIDs) && !lotIDs.isEmpty {
                vals["lot_producing_ids"] = [[6, 0, .array(lotIDs.map { .int($0) })]]
            }
        } else if let lot = lotIDs.first, order["lot_producing_id"]?.many2oneID != lot {
            vals["lot_producing_id"] = .int(lot)
        }
        if abs(producing - good) > 1e-9 { vals["qty_producing"] = .double(good) }

        // Component lots on the raw moves: the move lines are replaced by the reported totals,
        // in the same write as the order (one-to-many update commands), so one call per posting.
        let moves = try rawMoves(order: id, moveIDs: order["move_raw_ids"]?.array?.compactMap(\.int) ?? [])
        var moveUpdates: [JSONValue] = []
        var written: [Int: [String: Double]] = [:]
        for (product, lots) in consumed.sorted(by: { $0.key < $1.key }) {
            guard let move = moves.first(where: { $0.product == product }) else {
                throw OdooError(
                    .permanent, name: "mesgate.NoSuchComponent",
                    message: "\(name) has no raw move for component \(product)")
            }
            if writtenMoves[move.id] == lots { continue }
            var commands: [JSONValue] = [[5, 0, 0]]
            for (lot, qty) in lots.sorted(by: { $0.key < $1.key }) {
                var line: [String: JSONValue] = ["quantity": .double(qty), "picked": true]
                if !lot.isEmpty {
                    let company = order["company_id"]?.many2oneID
                    line["lot_id"] = .int(try self.lot(lot, productID: nil, product: product, company: company))
                }
                commands.append([0, 0, .object(line)])
            }
            moveUpdates.append([1, .int(move.id), ["move_line_ids": .array(commands), "picked": true]])
            written[move.id] = lots
        }
        for product in withdrawn.sorted() where consumed[product] == nil {
            guard let move = moves.first(where: { $0.product == product }), writtenMoves[move.id] != [:] else {
                continue
            }
            moveUpdates.append([1, .int(move.id), ["move_line_ids": [[5, 0, 0]], "picked": false]])
            written[move.id] = [:]
        }
        if !moveUpdates.isEmpty { vals["move_raw_ids"] = .array(moveUpdates) }
        if !vals.isEmpty { try client.write("mrp.production", [id], vals) }
        writtenMoves.merge(written) { _, new in new }
        guard completed else { return "order \(name) (\(id)): producing \(good)" }
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
        return "order \(name) (\(id)) done, qty \(good)"
    }

    static func noSuchOrder(_ name: String) -> OdooError {
        OdooError(.permanent, name: "mesgate.NoSuchOrder", message: "no mrp.production named \(name) in Odoo")
    }

    /// The fields an order is read with.
    var orderFields: [String] {
        [
            "name", "state", "product_id", "product_qty", "qty_producing", "move_raw_ids", "backorder_sequence",
            "company_id", lotField,
        ]
    }

    /// The order `name` (the first of its family once Odoo split it or kept a backorder).
    func findOrder(_ name: String) throws(OdooError) -> JSONValue? {
        try findFamily(name).first
    }

    /// The order `name` and the orders Odoo split from it or kept as its backorders, by sequence:
    /// `name` itself, or `name-001`, `name-002`, ... (Odoo renames the original at the first
    /// split); failing those, the orders with `origin = MES:<name>`.
    func findFamily(_ name: String) throws(OdooError) -> [JSONValue] {
        let found = try client.searchRead(
            "mrp.production", ["|", ["name", "=", .string(name)], ["name", "=like", .string("\(name)-___")]],
            fields: orderFields)
        var family = found.filter { order in
            guard let other = order["name"]?.string else { return false }
            return other == name || (other.count == name.count + 4 && other.hasPrefix(name + "-"))
        }
        if family.isEmpty {
            family = try client.searchRead(
                "mrp.production", [["origin", "=", .string("MES:\(name)")]], fields: orderFields)
        }
        return family.sorted { ($0["backorder_sequence"]?.int ?? 0) < ($1["backorder_sequence"]?.int ?? 0) }
    }

    func rawMoves(order: Int, moveIDs: [Int]) throws(OdooError) -> [(id: Int, product: String)] {
        if let known = orderMoves[order], known.count == moveIDs.count { return known }
        var moves: [(id: Int, product: String)] = []
        for move in try client.read("stock.move", moveIDs, fields: ["product_id"]) {
            guard let id = move["id"]?.int, let productID = move["product_id"]?.many2oneID else { continue }
            moves.append((id, try productCode(productID)))
        }
        orderMoves[order] = moves
        return moves
    }
}
