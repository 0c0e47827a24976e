/// What a person changes of a stored event to make its corrected replacement (`mesgate event
/// correct`): a new event id and any of the event's main item, quantity, unit and order. The main
/// item is the lot a receipt, shipment, scrap, move or quality result names, a consumption's
/// component and a production's output; its quantity is theirs (a production's good quantity).
public struct EventEdit: Sendable, Hashable {
    /// The replacement's own event id.
    public var eventID: String
    public var product: String?
    /// The main item's lot, or its serial when the item is a serial.
    public var lot: String?
    public var qty: Double?
    public var uom: String?
    public var workOrder: String?
    /// A consumption's output (`into`): its lot, or serial when it is a serial.
    public var intoLot: String?

    public init(
        eventID: String, product: String? = nil, lot: String? = nil, qty: Double? = nil, uom: String? = nil,
        workOrder: String? = nil, intoLot: String? = nil
    ) {
        self.eventID = eventID
        self.product = product
        self.lot = lot
        self.qty = qty
        self.uom = uom
        self.workOrder = workOrder
        self.intoLot = intoLot
    }

    /// Whether anything but the id changes.
    public var changesSomething: Bool {
        product != nil || lot != nil || qty != nil || uom != nil || workOrder != nil || intoLot != nil
    }

    /// `event` with these changes; refuses a change the event's kind has no place for (naming the
    /// option's field).
    public func applied(to event: Event) throws(EventValidationError) -> Event {
        var out = event
        out.eventID = eventID
        if let workOrder { out.workOrder = workOrder }
        guard let body = event.body else {
            if product != nil || lot != nil || qty != nil || uom != nil || intoLot != nil {
                throw EventValidationError(field: "body", reason: "the event has no body to change")
            }
            return out
        }
        let kind = body.name
        func item(_ ref: LotRef) -> LotRef {
            var ref = ref
            if let product { ref.product = product }
            if let lot {
                if ref.serial.isEmpty { ref.lot = lot } else { ref.serial = lot }
            }
            return ref
        }
        func quantity(_ q: Quantity?) -> Quantity? {
            guard qty != nil || uom != nil else { return q }
            return Quantity(value: qty ?? q?.value ?? 0, uom: uom ?? q?.uom ?? "")
        }
        func refuse(_ field: String) -> EventValidationError {
            EventValidationError(field: field, reason: "a \(kind) event has no such field to change")
        }
        if intoLot != nil, body.name != "consumed" { throw refuse("into") }
        switch body {
        case .received(var b):
            b.lot = item(b.lot)
            b.qty = quantity(b.qty)
            out.body = .received(b)
        case .consumed(var b):
            b.component = item(b.component)
            b.qty = quantity(b.qty)
            if let intoLot {
                guard var into = b.into else {
                    throw EventValidationError(
                        field: "into", reason: "the consumption names no output to change (it is order-level)")
                }
                if into.serial.isEmpty { into.lot = intoLot } else { into.serial = intoLot }
                b.into = into
            }
            out.body = .consumed(b)
        case .produced(var b):
            b.output = item(b.output)
            b.good = quantity(b.good)
            out.body = .produced(b)
        case .shipped(var b):
            b.lot = item(b.lot)
            b.qty = quantity(b.qty)
            out.body = .shipped(b)
        case .scrapped(var b):
            b.lot = item(b.lot)
            b.qty = quantity(b.qty)
            out.body = .scrapped(b)
        case .moved(var b):
            b.lot = item(b.lot)
            b.qty = quantity(b.qty)
            out.body = .moved(b)
        case .quality(var b):
            if qty != nil || uom != nil { throw refuse("qty") }
            b.lot = item(b.lot)
            out.body = .quality(b)
        case .operation, .downtime, .packed:
            if product != nil || lot != nil { throw refuse("lot") }
            if qty != nil || uom != nil { throw refuse("qty") }
        }
        return out
    }
}
