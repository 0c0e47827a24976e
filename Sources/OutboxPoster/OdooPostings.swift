import Foundation
public import GenealogyStore
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
    private var lotModel: Int?
    var productionModel: Int?
    private var todoType: Int?
    /// The consumption last written per raw move, so unchanged moves are not written again.
    var writtenMoves: [Int: [String: Double]] = [:]
    /// Raw moves of an order: move id and product code.
    var orderMoves: [Int: [(id: Int, product: String)]] = [:]
    /// Orders as this poster last left them (its own writes applied), so a coalesced posting
    /// does not read the order again; forgotten after any failure.
    var knownOrders: [String: JSONValue] = [:]

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
        let end: JSONValue = downtime.endedAtMs > 0 ? .string(OdooDateTime.text(downtime.endedAtMs)) : false
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
                "date_start": .string(OdooDateTime.text(downtime.startedAtMs)), "date_end": end,
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

    // MARK: Holds

    /// Brings Odoo to the hold's current state (Community has no quality hold): while it is open,
    /// every lot and serial it covers carries a `mail.activity` "Quality hold [MES:hold:<id>]";
    /// once released, that activity is marked done with the release as feedback (`action_feedback`
    /// logs "To-Do done: Quality hold [MES:hold:<id>]" in the lot's chatter and closes it). A hold
    /// placed and released before Odoo heard of it gets both, so the chatter shows it. The
    /// placement and release rows both converge on that state, found by the marker (an open
    /// activity, else the done message) before anything is made, so they may be posted in any
    /// order, again after a crash, or replayed.
    public func postHold(_ hold: HoldPosting) throws(OdooError) -> String {
        try client.connect()
        let marker = "[MES:hold:\(hold.id)]"
        var created = 0
        var done = 0
        for item in hold.items {
            let lotID = try lot(item.name, productID: nil, product: item.product)
            let onLot: JSONValue = ["res_id", "=", .int(lotID)]
            var activity = try client.search(
                "mail.activity",
                [["res_model", "=", "stock.lot"], onLot, ["summary", "ilike", .string(marker)]], limit: 1
            ).first
            if activity == nil {
                let finished = try client.search(
                    "mail.message", [["model", "=", "stock.lot"], onLot, ["body", "ilike", .string(marker)]],
                    limit: 1)
                if !finished.isEmpty { continue }  // placed and released in Odoo already
                activity = try client.create(
                    "mail.activity",
                    [
                        "res_model_id": .int(try lotModelID()), "res_id": .int(lotID),
                        "activity_type_id": .int(try todoActivityType()),
                        "summary": .string("Quality hold \(marker)"),
                        "note": .string("Held by \(hold.placedBy): \(hold.reason)"),
                        "date_deadline": .string(String(OdooDateTime.text(hold.placedAtMs).prefix(10))),
                    ])
                created += 1
            }
            if hold.releasedAtMs != nil, let id = activity {
                _ = try client.call(
                    "mail.activity", "action_feedback", ids: [id],
                    ["feedback": .string("Released by \(hold.releasedBy): \(hold.releaseReason)")])
                done += 1
            }
        }
        let lots = "\(hold.items.count) lot(s)"
        return hold.releasedAtMs == nil
            ? "hold \(hold.id) on \(lots) in Odoo: \(created) mail.activity created"
            : "hold \(hold.id) released on \(lots) in Odoo: \(created) mail.activity created, \(done) done"
    }

    /// `ir.model` id of stock.lot (an activity names its document's model by id).
    private func lotModelID() throws(OdooError) -> Int {
        if let id = lotModel { return id }
        guard let id = try client.search("ir.model", [["model", "=", "stock.lot"]], limit: 1).first else {
            throw OdooError(.permanent, name: "mesgate.NoSuchModel", message: "no ir.model for stock.lot")
        }
        lotModel = id
        return id
    }

    /// The To-Do activity type (`mail.mail_activity_data_todo`, through `ir.model.data`).
    func todoActivityType() throws(OdooError) -> Int {
        if let id = todoType { return id }
        guard
            let id = try client.searchRead(
                "ir.model.data", [["module", "=", "mail"], ["name", "=", "mail_activity_data_todo"]],
                fields: ["res_id"], limit: 1
            ).first?["res_id"]?.int
        else {
            throw OdooError(
                .permanent, name: "mesgate.NoSuchActivityType", message: "no mail.mail_activity_data_todo in Odoo")
        }
        todoType = id
        return id
    }

    // MARK: Lookups

    /// The lot (name, product): found, or created when Odoo has none.
    func lot(_ name: String, productID known: Int?, product code: String, company: Int? = nil) throws(OdooError) -> Int
    {
        // With `create`, a lot is always had.
        try lot(name, productID: known, product: code, company: company, create: true) ?? 0
    }

    /// The lot (name, product) of `company` (the production order's; nil: the API user's, Odoo's
    /// default): found, else created when `create`, else nil. Odoo's lot names are unique per
    /// product and company, so the same name may be another company's lot.
    func lot(_ name: String, productID known: Int?, product code: String, company: Int? = nil, create: Bool)
        throws(OdooError) -> Int?
    {
        var productID = known ?? 0
        if known == nil { productID = try product(code) }
        let key = "\(company ?? 0)/\(productID)/\(name)"
        if let id = lotIDs[key] { return id }
        var domain: [JSONValue] = [["name", "=", .string(name)], ["product_id", "=", .int(productID)]]
        if let company { domain.append(["company_id", "in", [.int(company), false]]) }
        var id = try client.search("stock.lot", .array(domain), limit: 1).first ?? 0
        if id == 0 && !create { return nil }
        if id == 0 {
            var vals: [String: JSONValue] = ["name": .string(name), "product_id": .int(productID)]
            if let company { vals["company_id"] = .int(company) }
            id = try client.create("stock.lot", vals)
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

    /// The `mrp.workcenter` a plant names: by its `code` first (how plants name them), else by name.
    private func workcenter(_ name: String) throws(OdooError) -> Int {
        if let id = workcenterIDs[name] { return id }
        var found = try client.search("mrp.workcenter", [["code", "=", .string(name)]], limit: 1).first
        if found == nil { found = try client.search("mrp.workcenter", [["name", "=", .string(name)]], limit: 1).first }
        guard let id = found else {
            throw OdooError(
                .permanent, name: "mesgate.NoSuchWorkCenter", message: "no mrp.workcenter with code or name \(name)")
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
}
