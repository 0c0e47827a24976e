import MESDomain

/// The MES events of one validated EPCIS event (see `EPCISMapping`).
struct EPCISEventMapper {
    let event: JSONValue
    let baseID: String

    /// The bare CBV word of a bizStep given as a word, a CBV web URI or an EPCglobal URN.
    static func bizStepWord(_ value: String?) -> String? {
        guard let value else { return nil }
        for prefix in ["https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:", "cbv:BizStep-"]
        where value.hasPrefix(prefix) {
            return String(value.dropFirst(prefix.count))
        }
        return value
    }

    /// The bare word of a source/destination or business transaction type.
    static func typeWord(_ value: String?, _ kind: String) -> String? {
        guard let value else { return nil }
        for prefix in ["https://ref.gs1.org/cbv/\(kind)-", "urn:epcglobal:cbv:\(kind.lowercased()):", "cbv:\(kind)-"]
        where value.hasPrefix(prefix) {
            return String(value.dropFirst(prefix.count))
        }
        return value
    }

    func mesEvents() -> [Event] {
        let type = event["type"]?.stringValue ?? ""
        let action = event["action"]?.stringValue ?? ""
        let step = Self.bizStepWord(event["bizStep"]?.stringValue) ?? ""
        var bodies: [(String, EventBody)] = []
        var workOrder = ""
        switch type {
        case "ObjectEvent"
        where (action == "ADD" || action == "OBSERVE") && (step == "receiving" || step == "arriving"):
            bodies = receipts()
        case "ObjectEvent" where step == "shipping":
            // An imported document is a supplier's: what it ships is what this plant receives.
            bodies = supplierShipments()
        case "ObjectEvent" where step == "decommissioning" || step == "destroying":
            bodies = items().map { ref, qty in ("scrapped", .scrapped(Scrapped(lot: ref, qty: qty, reason: step))) }
        case "TransformationEvent":
            workOrder = event["transformationID"]?.stringValue ?? "EPCIS-" + Self.shortID(baseID)
            bodies = transformation()
        case "AggregationEvent" where action == "ADD" || action == "DELETE":
            bodies = packing(action)
        default:
            return []
        }
        var counts: [String: Int] = [:]
        let occurredAt = ISOTimestamp(event["eventTime"]?.stringValue ?? "")?.epochMilliseconds ?? 0
        let offset = event["eventTimeZoneOffset"]?.stringValue ?? ""
        return bodies.map { kind, body in
            let n = counts[kind, default: 0]
            counts[kind] = n + 1
            return Event(
                eventID: "\(baseID)#\(kind).\(n)", occurredAtMs: occurredAt, tzOffset: offset, plant: "",
                workCenter: "", operatorID: "", workOrder: workOrder, body: body)
        }
    }

    /// The hex digits of a hash id (`ni:///sha-256;<hex>?…`), shortened, or the id itself.
    static func shortID(_ id: String) -> String {
        guard let semicolon = id.firstIndex(of: ";") else { return id }
        return String(id[id.index(after: semicolon)...].prefix(16))
    }

    // MARK: - What an event names

    /// Instance EPCs (one each) and quantity elements (their quantity) of `epcList`/`quantityList`.
    private func items(_ epcKey: String = "epcList", _ quantityKey: String = "quantityList") -> [(LotRef, Quantity?)] {
        var found: [(LotRef, Quantity?)] = []
        for epc in event[epcKey]?.arrayValue ?? [] {
            guard let uri = epc.stringValue else { continue }
            found.append((GS1Identifier.instance(uri), Quantity(value: 1, uom: "EA")))
        }
        for element in event[quantityKey]?.arrayValue ?? [] {
            guard let uri = element["epcClass"]?.stringValue else { continue }
            found.append((GS1Identifier.lotClass(uri), Self.quantity(of: element)))
        }
        return found
    }

    static func quantity(of element: JSONValue) -> Quantity? {
        guard case .number(let text) = element["quantity"], let value = Double(text), value > 0 else { return nil }
        return Quantity(value: value, uom: element["uom"]?.stringValue ?? "EA")
    }

    /// The first party of `listKey` (sourceList/destinationList) of the given types, preferring the owner.
    private func party(_ listKey: String, _ member: String) -> String {
        let entries = event[listKey]?.arrayValue ?? []
        for wanted in ["owning_party", "possessing_party"] {
            for entry in entries where Self.typeWord(entry["type"]?.stringValue, "SDT") == wanted {
                if let id = entry[member]?.stringValue { return id }
            }
        }
        return ""
    }

    private func location(_ listKey: String, _ member: String) -> String {
        for entry in event[listKey]?.arrayValue ?? []
        where Self.typeWord(entry["type"]?.stringValue, "SDT") == "location" {
            if let id = entry[member]?.stringValue { return id }
        }
        return ""
    }

    private func bizTransaction(_ types: [String]) -> String {
        let entries = event["bizTransactionList"]?.arrayValue ?? []
        for wanted in types {
            for entry in entries where Self.typeWord(entry["type"]?.stringValue, "BTT") == wanted {
                if let id = entry["bizTransaction"]?.stringValue { return id }
            }
        }
        return ""
    }

    private var place: String {
        event["bizLocation"]?["id"]?.stringValue ?? event["readPoint"]?["id"]?.stringValue ?? ""
    }

    // MARK: - Bodies

    private func receipts() -> [(String, EventBody)] {
        let supplier = party("sourceList", "source")
        let order = bizTransaction(["po"])
        return items().compactMap { ref, qty in
            guard ref.isTracked else { return nil }
            let supplierLot = ref.kind == .lot ? ref.lot : ""
            return (
                "received",
                .received(
                    MaterialReceived(
                        lot: ref, qty: qty, supplier: supplier, supplierLot: supplierLot, purchaseOrder: order,
                        location: place))
            )
        }
    }

    /// A supplier's shipment to this plant: a receipt of each lot it names, from the shipment's
    /// source party (the supplier), under its purchase order (else its despatch advice), at its
    /// destination location when it names one.
    private func supplierShipments() -> [(String, EventBody)] {
        let supplier = party("sourceList", "source")
        let order = bizTransaction(["po", "desadv", "bol", "inv"])
        let destination = location("destinationList", "destination")
        return items().compactMap { ref, qty in
            guard ref.isTracked else { return nil }
            return (
                "received",
                .received(
                    MaterialReceived(
                        lot: ref, qty: qty, supplier: supplier, supplierLot: ref.kind == .lot ? ref.lot : "",
                        purchaseOrder: order, location: destination.isEmpty ? place : destination))
            )
        }
    }

    private func transformation() -> [(String, EventBody)] {
        var bodies: [(String, EventBody)] = []
        for (ref, qty) in items("inputEPCList", "inputQuantityList") where ref.kind != .incomplete {
            bodies.append(("consumed", .consumed(MaterialConsumed(component: ref, qty: qty, into: nil))))
        }
        for (ref, qty) in items("outputEPCList", "outputQuantityList") where ref.isTracked {
            bodies.append(
                ("produced", .produced(ProductionReported(output: ref, good: qty, scrap: nil, location: place))))
        }
        return bodies
    }

    private func packing(_ action: String) -> [(String, EventBody)] {
        guard let parent = event["parentID"]?.stringValue else { return [] }
        let parentRef = GS1Identifier.instance(parent)
        let container = parentRef.kind == .container ? parentRef : LotRef(container: parent)
        let contents = items("childEPCs", "childQuantityList").map(\.0).filter(\.isTracked)
        if contents.isEmpty && action == "ADD" { return [] }
        return [
            (
                "packed",
                .packed(Packed(container: container, contents: contents, action: action == "ADD" ? .add : .delete))
            )
        ]
    }
}
