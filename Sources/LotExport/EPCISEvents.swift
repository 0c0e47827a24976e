import GenealogyStore
import MESDomain

/// How mesgate's events become EPCIS 2.0 events (one EPCIS event per stored event, plus one per
/// hold placed and one per release):
///
/// | mesgate | EPCIS |
/// |---|---|
/// | received | ObjectEvent OBSERVE, bizStep `receiving`, disposition `in_progress`, source = supplier, destination = the plant, purchase order as `po` bizTransaction |
/// | shipped | ObjectEvent OBSERVE, bizStep `shipping`, disposition `in_transit`, source = the plant, destination = customer (+ destination location), delivery as `desadv` |
/// | consumed | TransformationEvent: the component as input, `into` as output, `transformationID` = the work order |
/// | produced | TransformationEvent: the output (good quantity), bizStep `commissioning`, disposition `active`, `transformationID` = the work order |
/// | moved with new_lot | TransformationEvent: lot → new lot; without: ObjectEvent OBSERVE at the new location |
/// | packed | AggregationEvent ADD/DELETE, bizStep `packing`/`unpacking`, parent = the container |
/// | quality | ObjectEvent OBSERVE, bizStep `inspecting`, disposition `conformant`/`non_conformant` |
/// | scrapped | ObjectEvent OBSERVE, bizStep `destroying`, disposition `destroyed` |
/// | hold placed / released | ObjectEvent OBSERVE, bizStep `holding`, disposition `non_sellable_other` (persistent, set) / `active` (persistent, unset) |
///
/// Lots are quantity list entries (class level), serials and containers EPC list entries. Who and
/// the store's bookkeeping go into `mesgate:` extension fields. Operations and downtime carry no
/// material and are not exported.
enum EPCISEvents {
    typealias Members = [(String, JSON)]

    /// The events in time order (stored events by commit sequence; holds merged by when they were
    /// placed). A hold placed in the same millisecond as an event's commit comes after the event:
    /// the writer commits one after the other, and a hold follows what it holds far more often than
    /// it precedes it (a fast store commits both within one millisecond).
    static func events(_ content: ExportContent) -> [(members: Members, stored: StoredEvent?)] {
        var holdMoments: [(at: Int64, hold: StoredHold, release: Bool)] = []
        for hold in content.holds {
            holdMoments.append((hold.placedAtMs, hold, false))
            if let released = hold.releasedAtMs { holdMoments.append((released, hold, true)) }
        }
        holdMoments.sort { $0.at < $1.at }
        var out: [(members: Members, stored: StoredEvent?)] = []
        out.reserveCapacity(content.events.count + holdMoments.count)
        var next = 0
        for exported in content.events {
            while next < holdMoments.count && holdMoments[next].at < exported.stored.recordedAtMs {
                out.append((holdEvent(holdMoments[next].hold, release: holdMoments[next].release), nil))
                next += 1
            }
            if let members = event(exported) { out.append((members, exported.stored)) }
        }
        while next < holdMoments.count {
            out.append((holdEvent(holdMoments[next].hold, release: holdMoments[next].release), nil))
            next += 1
        }
        return out
    }

    /// The `errorDeclaration` of a voided or replaced event (EPCIS 2.0 §7.4.1.3): when, the CBV
    /// reason (`did_not_occur` for a void, `incorrect_data` for a replacement), the replacement's
    /// EPCIS event id when the document holds it (`correctiveEventIDs`), and who and why in
    /// `mesgate:` fields. It is not part of the event hash, so the event keeps its id.
    static func errorDeclaration(_ mark: CorrectionMark, correctiveEventID: String?) -> JSON {
        var members: Members = [
            ("declarationTime", .string(LocalTime.utc.iso(mark.atMs))),
            ("reason", .string(mark.isVoid ? "did_not_occur" : "incorrect_data")),
        ]
        if let correctiveEventID { members.append(("correctiveEventIDs", .array([.string(correctiveEventID)]))) }
        members.append(("mesgate:correction", .integer(mark.id)))
        members.append(("mesgate:reason", .string(mark.reason)))
        members.append(("mesgate:correctedBy", .string(mark.by)))
        if !mark.isVoid { members.append(("mesgate:correctiveEventID", .string(mark.replacementEventID))) }
        return .object(members)
    }

    // MARK: pieces

    /// `epcList` entries (serials, containers) and `quantityList` entries (lots, untracked material).
    struct Items {
        var epcs: [JSON] = []
        var quantities: [JSON] = []

        mutating func add(_ ref: LotRef, _ qty: Quantity?) {
            switch ref.kind {
            case .serial, .container: epcs.append(.string(LotURI.item(ref)))
            case .lot, .untracked: quantities.append(quantityElement(LotURI.item(ref), qty))
            case .incomplete: break
            }
        }
    }

    static func quantityElement(_ epcClass: String, _ qty: Quantity?) -> JSON {
        var members: Members = [("epcClass", .string(epcClass))]
        if let qty {
            members.append(("quantity", .number(qty.value)))
            if let uom = UnitCode.uncefact(qty.uom) { members.append(("uom", .string(uom))) }
        }
        return .object(members)
    }

    /// type, eventTime, eventTimeZoneOffset, recordTime.
    static func header(_ type: String, _ e: ExportedEvent) -> Members {
        let time = e.time
        return [
            ("type", .string(type)),
            ("eventTime", .string(time.iso(e.event.occurredAtMs))),
            ("eventTimeZoneOffset", .string(time.offset)),
            ("recordTime", .string(LocalTime.utc.iso(e.stored.recordedAtMs))),
        ]
    }

    /// readPoint (the work center) and bizLocation (a location the event names).
    static func places(_ e: ExportedEvent, location: String) -> Members {
        var members: Members = []
        if !e.event.workCenter.isEmpty {
            members.append(
                ("readPoint", .object([("id", .string(LotURI.location(plant: e.event.plant, e.event.workCenter)))])))
        }
        if !location.isEmpty {
            members.append(("bizLocation", .object([("id", .string(LotURI.location(plant: e.event.plant, location)))])))
        }
        return members
    }

    /// The `mesgate:` extension fields: who, the MES event id, the store's sequence, the plant (by
    /// the store's rule: at a hub, the plant the event came from), the work order.
    static func extensions(_ e: ExportedEvent, _ extra: Members = []) -> Members {
        var members: Members = [
            ("mesgate:eventID", .string(e.event.eventID)),
            ("mesgate:sequence", .integer(e.stored.sequence)),
        ]
        if !e.event.operatorID.isEmpty { members.append(("mesgate:operator", .string(e.event.operatorID))) }
        if !e.stored.client.isEmpty { members.append(("mesgate:client", .string(e.stored.client))) }
        if !e.stored.plant.isEmpty { members.append(("mesgate:plant", .string(e.stored.plant))) }
        if !e.event.workOrder.isEmpty { members.append(("mesgate:workOrder", .string(e.event.workOrder))) }
        return members + extra.filter { if case .string(let s) = $0.1 { !s.isEmpty } else { true } }
    }

    static func list(_ name: String, _ items: [JSON]) -> Members { items.isEmpty ? [] : [(name, .array(items))] }

    static func objectEvent(
        _ e: ExportedEvent, items: Items, bizStep: String?, disposition: String?, location: String,
        more: Members = [], extra: Members = []
    ) -> Members {
        var m = header("ObjectEvent", e)
        if !items.epcs.isEmpty || items.quantities.isEmpty { m.append(("epcList", .array(items.epcs))) }
        m += list("quantityList", items.quantities)
        m.append(("action", .string("OBSERVE")))
        if let bizStep { m.append(("bizStep", .string(bizStep))) }
        if let disposition { m.append(("disposition", .string(disposition))) }
        m += places(e, location: location)
        return m + more + extensions(e, extra)
    }

    static func transformation(
        _ e: ExportedEvent, inputs: Items, outputs: Items, bizStep: String?, disposition: String?,
        location: String, extra: Members = []
    ) -> Members {
        var m = header("TransformationEvent", e)
        m += list("inputEPCList", inputs.epcs)
        m += list("inputQuantityList", inputs.quantities)
        m += list("outputEPCList", outputs.epcs)
        m += list("outputQuantityList", outputs.quantities)
        let hasBoth =
            !(inputs.epcs.isEmpty && inputs.quantities.isEmpty) && !(outputs.epcs.isEmpty && outputs.quantities.isEmpty)
        if !e.event.workOrder.isEmpty {
            m.append(("transformationID", .string(LotURI.order(e.event.workOrder))))
        } else if !hasBoth {
            m.append(("transformationID", .string("urn:mesgate:transformation:" + LotURI.encode(e.event.eventID))))
        }
        if let bizStep { m.append(("bizStep", .string(bizStep))) }
        if let disposition { m.append(("disposition", .string(disposition))) }
        m += places(e, location: location)
        return m + extensions(e, extra)
    }

    // MARK: events

    static func event(_ e: ExportedEvent) -> Members? {
        let plantParty = e.event.plant.isEmpty ? nil : LotURI.party(e.event.plant)
        switch e.event.body {
        case .received(let b):
            var items = Items()
            items.add(b.lot, b.qty)
            var more: Members = []
            if !b.purchaseOrder.isEmpty {
                more.append(
                    (
                        "bizTransactionList",
                        .array([
                            .object([
                                ("type", .string("po")),
                                ("bizTransaction", .string(LotURI.purchaseOrder(b.purchaseOrder))),
                            ])
                        ])
                    ))
            }
            if !b.supplier.isEmpty {
                more.append(
                    (
                        "sourceList",
                        .array([
                            .object([("type", .string("owning_party")), ("source", .string(LotURI.party(b.supplier)))])
                        ])
                    ))
            }
            if let plantParty {
                var destinations: [JSON] = [
                    .object([("type", .string("owning_party")), ("destination", .string(plantParty))])
                ]
                if !b.location.isEmpty {
                    destinations.append(
                        .object([
                            ("type", .string("location")),
                            ("destination", .string(LotURI.location(plant: e.event.plant, b.location))),
                        ]))
                }
                more.append(("destinationList", .array(destinations)))
            }
            return objectEvent(
                e, items: items, bizStep: "receiving", disposition: "in_progress", location: b.location, more: more,
                extra: [("mesgate:supplier", .string(b.supplier)), ("mesgate:supplierLot", .string(b.supplierLot))])
        case .shipped(let b):
            var items = Items()
            items.add(b.lot, b.qty)
            var more: Members = []
            if !b.delivery.isEmpty {
                more.append(
                    (
                        "bizTransactionList",
                        .array([
                            .object([
                                ("type", .string("desadv")), ("bizTransaction", .string(LotURI.delivery(b.delivery))),
                            ])
                        ])
                    ))
            }
            if let plantParty {
                more.append(
                    (
                        "sourceList",
                        .array([.object([("type", .string("owning_party")), ("source", .string(plantParty))])])
                    ))
            }
            var destinations: [JSON] = []
            if !b.customer.isEmpty {
                destinations.append(
                    .object([("type", .string("owning_party")), ("destination", .string(LotURI.party(b.customer)))]))
            }
            if !b.destination.isEmpty {
                destinations.append(
                    .object([
                        ("type", .string("location")),
                        ("destination", .string(LotURI.location(plant: b.customer, b.destination))),
                    ]))
            }
            more += list("destinationList", destinations)
            return objectEvent(
                e, items: items, bizStep: "shipping", disposition: "in_transit", location: "", more: more,
                extra: [("mesgate:customer", .string(b.customer)), ("mesgate:destination", .string(b.destination))])
        case .consumed(let b):
            var inputs = Items()
            inputs.add(b.component, b.qty)
            var outputs = Items()
            if let into = b.into { outputs.add(into, nil) }
            return transformation(e, inputs: inputs, outputs: outputs, bizStep: nil, disposition: nil, location: "")
        case .produced(let b):
            var outputs = Items()
            outputs.add(b.output, b.good)
            var extra: Members = []
            if let scrap = b.scrap, scrap.value > 0 {
                extra.append(("mesgate:scrap", .string(GenealogyPicture.quantity(scrap))))
            }
            return transformation(
                e, inputs: Items(), outputs: outputs, bizStep: "commissioning", disposition: "active",
                location: b.location, extra: extra)
        case .moved(let b):
            var items = Items()
            items.add(b.lot, b.qty)
            let extra: Members = [
                ("mesgate:fromLocation", .string(b.fromLocation)), ("mesgate:toLocation", .string(b.toLocation)),
            ]
            if let newLot = b.newLot {
                var outputs = Items()
                outputs.add(newLot, b.qty)
                return transformation(
                    e, inputs: items, outputs: outputs, bizStep: nil, disposition: nil, location: b.toLocation,
                    extra: extra)
            }
            return objectEvent(e, items: items, bizStep: nil, disposition: nil, location: b.toLocation, extra: extra)
        case .packed(let b):
            var m = header("AggregationEvent", e)
            m.append(("parentID", .string(LotURI.item(b.container))))
            var children = Items()
            for ref in b.contents { children.add(ref, nil) }
            m += list("childEPCs", children.epcs)
            m += list("childQuantityList", children.quantities)
            let add = b.action != .delete
            m.append(("action", .string(add ? "ADD" : "DELETE")))
            m.append(("bizStep", .string(add ? "packing" : "unpacking")))
            m += places(e, location: "")
            return m + extensions(e)
        case .quality(let b):
            var items = Items()
            items.add(b.lot, nil)
            let disposition: String? =
                switch b.outcome {
                case .pass: "conformant"
                case .fail: "non_conformant"
                case .warn, .unspecified: nil
                }
            let outcome =
                switch b.outcome {
                case .pass: "PASS"
                case .fail: "FAIL"
                case .warn: "WARN"
                case .unspecified: ""
                }
            let measurements = b.measurements.map {
                "\($0.name)=\(JSON.numberText($0.value))\($0.unit.isEmpty ? "" : " \($0.unit)")"
                    + ($0.lower != 0 || $0.upper != 0
                        ? " [\(JSON.numberText($0.lower)), \(JSON.numberText($0.upper))]" : "")
            }.joined(separator: "; ")
            return objectEvent(
                e, items: items, bizStep: "inspecting", disposition: disposition, location: "",
                extra: [
                    ("mesgate:check", .string(b.check)), ("mesgate:outcome", .string(outcome)),
                    ("mesgate:measurements", .string(measurements)),
                ])
        case .scrapped(let b):
            var items = Items()
            items.add(b.lot, b.qty)
            return objectEvent(
                e, items: items, bizStep: "destroying", disposition: "destroyed", location: "",
                extra: [("mesgate:reason", .string(b.reason))])
        case .operation, .downtime, nil:
            return nil
        }
    }

    static func holdEvent(_ hold: StoredHold, release: Bool) -> Members {
        var items = Items()
        for ref in hold.items { items.add(ref, nil) }
        let at = release ? (hold.releasedAtMs ?? hold.placedAtMs) : hold.placedAtMs
        var m: Members = [
            ("type", .string("ObjectEvent")),
            ("eventTime", .string(LocalTime.utc.iso(at))),
            ("eventTimeZoneOffset", .string("+00:00")),
        ]
        if !items.epcs.isEmpty || items.quantities.isEmpty { m.append(("epcList", .array(items.epcs))) }
        m += list("quantityList", items.quantities)
        m.append(("action", .string("OBSERVE")))
        m.append(("bizStep", .string("holding")))
        if release {
            m.append(("disposition", .string("active")))
            m.append(("persistentDisposition", .object([("unset", .array([.string("non_sellable_other")]))])))
        } else {
            m.append(("disposition", .string("non_sellable_other")))
            m.append(("persistentDisposition", .object([("set", .array([.string("non_sellable_other")]))])))
        }
        m.append(("mesgate:hold", .integer(hold.id)))
        m.append(("mesgate:holdRoot", .string(LotURI.item(hold.root))))
        if release {
            m.append(("mesgate:releasedBy", .string(hold.releasedBy)))
            if !hold.releaseReason.isEmpty { m.append(("mesgate:reason", .string(hold.releaseReason))) }
        } else {
            m.append(("mesgate:placedBy", .string(hold.placedBy)))
            m.append(("mesgate:reason", .string(hold.reason)))
            m.append(("mesgate:propagate", .bool(hold.propagate)))
        }
        return m
    }
}

/// UN/CEFACT Recommendation 20 codes, which EPCIS requires for `uom` (`^[A-Z0-9]{2,3}$`).
enum UnitCode {
    static let table: [String: String] = [
        "kg": "KGM", "g": "GRM", "mg": "MGM", "t": "TNE", "lb": "LBR", "oz": "ONZ",
        "l": "LTR", "ml": "MLT", "hl": "HLT", "m": "MTR", "cm": "CMT", "mm": "MMT", "km": "KMT",
        "m2": "MTK", "m²": "MTK", "m3": "MTQ", "m³": "MTQ", "h": "HUR", "min": "MIN", "s": "SEC",
    ]
    /// Counted units, for which EPCIS omits `uom`.
    static let counts: Set<String> = ["units", "unit", "unit(s)", "pcs", "pc", "piece", "pieces", "ea", "each"]

    /// The code of `uom`, or nil for a count or a unit without a known code (then `uom` is left out).
    static func uncefact(_ uom: String) -> String? {
        let lower = uom.lowercased()
        if lower.isEmpty || counts.contains(lower) { return nil }
        if let code = table[lower] { return code }
        let b = Array(uom.utf8)
        if (2...3).contains(b.count), b.allSatisfy({ ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) }) { return uom }
        return nil
    }
}
