public import MESDomain
public import Odoo

extension OdooPostings {
    /// Brings Odoo to the exception's current state, like a hold (`postHold`): while it is not
    /// closed, its production order carries a To-Do `mail.activity` "<kind> [MES:exception:<id>]"
    /// saying what happened and what to do; once closed, that activity is marked done with who
    /// closed it and why (`action_feedback` logs "To-Do done: ..." in the order's chatter). An
    /// exception raised and closed before Odoo heard of it gets both. Found by its marker before
    /// anything is made, so the raising and closing rows may be posted in any order, again after
    /// a crash, or replayed.
    public func postException(_ exception: PlantException) throws(OdooError) -> String {
        try client.connect()
        guard let order = try findOrder(exception.workOrder), let orderID = order["id"]?.int else {
            throw OdooError(
                .permanent, name: "mesgate.NoSuchOrder",
                message: "no mrp.production named \(exception.workOrder) in Odoo")
        }
        let marker = "[MES:exception:\(exception.id)]"
        let onOrder: JSONValue = ["res_id", "=", .int(orderID)]
        var activity = try client.search(
            "mail.activity",
            [["res_model", "=", "mrp.production"], onOrder, ["summary", "ilike", .string(marker)]], limit: 1
        ).first
        var created = 0
        if activity == nil {
            let finished = try client.search(
                "mail.message", [["model", "=", "mrp.production"], onOrder, ["body", "ilike", .string(marker)]],
                limit: 1)
            if !finished.isEmpty {
                return "exception \(exception.id) on \(exception.workOrder) in Odoo: activity done already"
            }
            var note = exception.detail
            if !exception.lot.isEmpty { note += " (\(exception.lot))" }
            if !exception.action.isEmpty { note += "\nWhat to do: \(exception.action)" }
            activity = try client.create(
                "mail.activity",
                [
                    "res_model_id": .int(try productionModelID()), "res_id": .int(orderID),
                    "activity_type_id": .int(try todoActivityType()),
                    "summary": .string("\(exception.kind) \(marker)"), "note": .string(note),
                    "date_deadline": .string(String(OdooDateTime.text(exception.createdAtMs).prefix(10))),
                ])
            created = 1
        }
        guard exception.state == .closed, let id = activity else {
            return "exception \(exception.id) on \(exception.workOrder) in Odoo: \(created) mail.activity created"
        }
        _ = try client.call(
            "mail.activity", "action_feedback", ids: [id],
            ["feedback": .string("Closed by \(exception.closedBy): \(exception.closeReason)")])
        return
            "exception \(exception.id) closed on \(exception.workOrder) in Odoo: \(created) mail.activity created, 1 done"
    }

    /// `ir.model` id of mrp.production (an activity names its document's model by id).
    private func productionModelID() throws(OdooError) -> Int {
        if let id = productionModel { return id }
        guard let id = try client.search("ir.model", [["model", "=", "mrp.production"]], limit: 1).first else {
            throw OdooError(.permanent, name: "mesgate.NoSuchModel", message: "no ir.model for mrp.production")
        }
        productionModel = id
        return id
    }
}
