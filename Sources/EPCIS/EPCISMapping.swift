public import MESDomain

/// An EPCIS capture document turned into MES events for the genealogy (see genealogy/MODEL.md,
/// "EPCIS import"): receipts, consumptions and production of transformations, packing, shipments
/// and scrap. Pure: nothing is stored here.
public struct EPCISMapping: Sendable {
    /// One MES event derived from an EPCIS event.
    public struct Mapped: Sendable, Hashable {
        /// The index of the EPCIS event in the document's event list.
        public var epcisIndex: Int
        public var event: Event
    }

    /// EPCIS events in the document.
    public var epcisEvents = 0
    /// The MES events to store, in document order.
    public var events: [Mapped] = []
    /// Indexes of the EPCIS events that carry nothing for the genealogy (kept in the stored document only).
    public var notMapped: [Int] = []
    /// EPCIS TransformationEvents mapped to consumptions and production.
    public var transformations = 0
    /// Distinct lots, serials and containers the mapped events name.
    public var lots: Set<LotRef> = []
    /// The events the document declares in error (an `errorDeclaration`): the MES events mapped
    /// from them are voided (genealogy/MODEL.md, "Corrections").
    public var declarations: [ErrorDeclaration] = []

    /// An EPCIS event declared in error: the MES events stored from it are `baseID#…`.
    public struct ErrorDeclaration: Sendable, Hashable {
        public var epcisIndex: Int
        public var baseID: String
        public var declaredAtMs: Int64
        /// The CBV reason (`did_not_occur`, `incorrect_data`, …) and the `mesgate:reason` text, in words.
        public var reason: String
        /// The `correctiveEventIDs`, as the base ids of the MES events stored from them.
        public var correctiveBaseIDs: [String]
    }

    /// Maps a validated document (see `EPCISValidator.validate`).
    public init(_ document: EPCISDocumentShape) {
        epcisEvents = document.events.count
        for (index, event) in document.events.enumerated() {
            let baseID = Self.baseID(of: event, namespaces: document.namespaces)
            if let declaration = event["errorDeclaration"] {
                declarations.append(Self.declaration(declaration, index: index, baseID: baseID))
            }
            let derived = EPCISEventMapper(event: event, baseID: baseID).mesEvents()
            if derived.isEmpty {
                notMapped.append(index)
                continue
            }
            if event["type"]?.stringValue == "TransformationEvent" { transformations += 1 }
            for mes in derived {
                events.append(Mapped(epcisIndex: index, event: mes))
                for ref in mes.body.map(Self.refs(of:)) ?? [] where ref.isTracked { lots.insert(ref) }
            }
        }
        // A document with both the supplier's shipping and this plant's receiving of a lot: the
        // receiving is the receipt (one receipt, not two).
        let shippingIndexes = Set(
            document.events.indices.filter {
                EPCISEventMapper.bizStepWord(document.events[$0]["bizStep"]?.stringValue) == "shipping"
            })
        let receivedElsewhere = Set(
            events.filter { !shippingIndexes.contains($0.epcisIndex) }.compactMap { mapped -> LotRef? in
                if case .received(let r) = mapped.event.body { r.lot } else { nil }
            })
        events.removeAll { mapped in
            guard shippingIndexes.contains(mapped.epcisIndex), case .received(let r) = mapped.event.body else {
                return false
            }
            return receivedElsewhere.contains(r.lot)
        }
    }

    static func declaration(_ value: JSONValue, index: Int, baseID: String) -> ErrorDeclaration {
        let cbv = EPCISEventMapper.typeWord(value["reason"]?.stringValue, "ER") ?? "no reason given"
        var reason = "EPCIS errorDeclaration: \(cbv)"
        if let words = value["mesgate:reason"]?.stringValue, !words.isEmpty { reason += ": \(words)" }
        let corrective = (value["correctiveEventIDs"]?.arrayValue ?? []).compactMap(\.stringValue).filter {
            !$0.isEmpty && $0.utf8.count <= 100
        }
        return ErrorDeclaration(
            epcisIndex: index, baseID: baseID,
            declaredAtMs: ISOTimestamp(value["declarationTime"]?.stringValue ?? "")?.epochMilliseconds ?? 0,
            reason: reason, correctiveBaseIDs: corrective)
    }

    /// The EPCIS eventID when it is a usable MES event id, else the CBV 2.0 event hash id.
    static func baseID(of event: JSONValue, namespaces: [String: String]) -> String {
        if let id = event["eventID"]?.stringValue, !id.isEmpty, id.utf8.count <= 100 { return id }
        return CBVEventHash.hashID(ofEvent: event, namespaces: namespaces)
    }

    static func refs(of body: EventBody) -> [LotRef] {
        switch body {
        case .received(let b): [b.lot]
        case .consumed(let b): [b.component] + (b.into.map { [$0] } ?? [])
        case .produced(let b): [b.output]
        case .shipped(let b): [b.lot]
        case .scrapped(let b): [b.lot]
        case .packed(let b): [b.container] + b.contents
        case .moved(let b): [b.lot] + (b.newLot.map { [$0] } ?? [])
        case .quality(let b): [b.lot]
        case .operation, .downtime: []
        }
    }
}
