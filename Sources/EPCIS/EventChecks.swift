/// The checks of one event (see `EPCISValidator`); `path` is `eventList[i]`.
struct EventChecks {
    let path: String
    let event: JSONValue

    func run() throws {
        guard let members = event.members else { throw EPCISError("\(path): must be an object, not \(event.kindName)") }
        guard let type = event["type"]?.stringValue else { throw EPCISError("\(path).type: missing") }
        guard EPCISValidator.eventTypes.contains(type) else {
            throw EPCISError("\(path).type: \"\(type)\" is not an EPCIS 2.0 event type")
        }
        guard let eventTime = event["eventTime"] else { throw EPCISError("\(path).eventTime: missing") }
        try EPCISValidator.checkTime(eventTime, "\(path).eventTime")
        guard let offset = event["eventTimeZoneOffset"] else {
            throw EPCISError("\(path).eventTimeZoneOffset: missing")
        }
        try checkOffset(offset)
        if let recordTime = event["recordTime"] { try EPCISValidator.checkTime(recordTime, "\(path).recordTime") }
        if let id = event["eventID"] { try uri(id, "eventID") }
        try checkAction(type)
        try checkRequiredLists(type)
        for member in members { try check(member) }
    }

    private func fail(_ field: String, _ problem: String) -> EPCISError { EPCISError("\(path).\(field): \(problem)") }

    private func checkOffset(_ value: JSONValue) throws {
        guard let text = value.stringValue else { throw fail("eventTimeZoneOffset", "must be a string like +02:00") }
        let b = Array(text.utf8)
        func digit(_ i: Int) -> Int? { b[i] >= 0x30 && b[i] <= 0x39 ? Int(b[i] - 0x30) : nil }
        guard b.count == 6, b[0] == 0x2B || b[0] == 0x2D, b[3] == 0x3A, let h1 = digit(1), let h2 = digit(2),
            let m1 = digit(4), let m2 = digit(5), m1 <= 5, (h1 * 10 + h2) * 60 + m1 * 10 + m2 <= 14 * 60
        else { throw fail("eventTimeZoneOffset", "\"\(text)\" is not a zone offset from -14:00 to +14:00 like +02:00") }
    }

    private func checkAction(_ type: String) throws {
        guard let action = event["action"] else {
            if type == "TransformationEvent" { return }
            throw fail("action", "missing (a \(type) needs ADD, OBSERVE or DELETE)")
        }
        if type == "TransformationEvent" { throw fail("action", "a TransformationEvent has no action") }
        guard let text = action.stringValue, EPCISValidator.actions.contains(text) else {
            throw fail("action", "\(describe(action)) is not ADD, OBSERVE or DELETE")
        }
    }

    private func present(_ key: String) -> Bool { event[key] != nil }

    private func nonEmpty(_ key: String) -> Bool { !(event[key]?.arrayValue?.isEmpty ?? true) }

    private func checkRequiredLists(_ type: String) throws {
        switch type {
        case "ObjectEvent":
            guard present("epcList") || nonEmpty("quantityList") else {
                throw fail("epcList", "missing (an ObjectEvent names its objects in epcList or quantityList)")
            }
        case "AggregationEvent":
            let action = event["action"]?.stringValue ?? ""
            if action != "OBSERVE" && !present("parentID") {
                throw fail("parentID", "missing (an \(action) aggregation names its parent)")
            }
            if action != "DELETE" && !nonEmpty("childEPCs") && !nonEmpty("childQuantityList") {
                throw fail(
                    "childEPCs", "missing (an AggregationEvent names its children in childEPCs or childQuantityList)")
            }
        case "AssociationEvent":
            guard present("parentID") else { throw fail("parentID", "missing (an AssociationEvent needs its parent)") }
        case "TransactionEvent":
            guard nonEmpty("bizTransactionList") else {
                throw fail("bizTransactionList", "missing (a TransactionEvent names at least one business transaction)")
            }
        case "TransformationEvent":
            let inputs = nonEmpty("inputEPCList") || nonEmpty("inputQuantityList")
            let outputs = nonEmpty("outputEPCList") || nonEmpty("outputQuantityList")
            guard inputs || outputs || present("transformationID") else {
                throw fail(
                    "inputEPCList", "missing (a TransformationEvent names inputs, outputs or a transformationID)")
            }
        default: break
        }
    }

    private func describe(_ value: JSONValue) -> String {
        if let text = value.stringValue { return "\"\(text)\"" }
        return value.kindName
    }

    private func uri(_ value: JSONValue, _ field: String) throws {
        guard let text = value.stringValue, EPCISValidator.isURI(text) else {
            throw fail(field, "\(describe(value)) is not a URI")
        }
    }

    /// A CBV word of `kind` or a URI; `what` names the vocabulary in the message.
    private func vocabulary(_ value: JSONValue, _ field: String, _ kind: CBVVocabulary.Kind, _ what: String) throws {
        guard let text = value.stringValue else { throw fail(field, "must be a string, not \(value.kindName)") }
        if CBVVocabulary.terms(of: kind).contains(text) { return }
        guard EPCISValidator.isURI(text) else { throw fail(field, "\"\(text)\" is not a CBV \(what) and not a URI") }
    }

    private func list(_ value: JSONValue, _ field: String) throws -> [JSONValue] {
        guard let items = value.arrayValue else { throw fail(field, "must be an array, not \(value.kindName)") }
        return items
    }

    private func check(_ member: JSONValue.Member) throws {
        let key = member.key
        let value = member.value
        switch key {
        case "type", "eventTime", "eventTimeZoneOffset", "recordTime", "eventID", "action", "@context": return
        case "epcList", "childEPCs", "inputEPCList", "outputEPCList":
            for (i, item) in try list(value, key).enumerated() { try uri(item, "\(key)[\(i)]") }
        case "quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList":
            for (i, item) in try list(value, key).enumerated() { try quantityElement(item, "\(key)[\(i)]") }
        case "parentID", "transformationID": try uri(value, key)
        case "bizStep": try vocabulary(value, key, .bizStep, "bizStep")
        case "disposition": try vocabulary(value, key, .disposition, "disposition")
        case "persistentDisposition":
            guard let members = value.members else { throw fail(key, "must be an object with set and/or unset") }
            for entry in members {
                guard entry.key == "set" || entry.key == "unset" else {
                    throw fail("\(key).\(entry.key)", "is not set or unset")
                }
                for (i, item) in try list(entry.value, "\(key).\(entry.key)").enumerated() {
                    try vocabulary(item, "\(key).\(entry.key)[\(i)]", .disposition, "disposition")
                }
            }
        case "readPoint", "bizLocation":
            guard value.members != nil, let id = value["id"] else { throw fail(key, "must be an object with an id") }
            try uri(id, "\(key).id")
            try namespacedKeys(value, key, except: ["id"])
        case "bizTransactionList":
            for (i, item) in try list(value, key).enumerated() {
                let field = "\(key)[\(i)]"
                guard item.members != nil, let id = item["bizTransaction"] else {
                    throw fail(field, "must be an object with a bizTransaction")
                }
                try uri(id, "\(field).bizTransaction")
                if let type = item["type"] {
                    try vocabulary(type, "\(field).type", .bizTransactionType, "business transaction type")
                }
                try onlyKeys(item, field, ["type", "bizTransaction"])
            }
        case "sourceList", "destinationList":
            let name = key == "sourceList" ? "source" : "destination"
            for (i, item) in try list(value, key).enumerated() {
                let field = "\(key)[\(i)]"
                guard item.members != nil, let type = item["type"], let id = item[name] else {
                    throw fail(field, "must be an object with a type and a \(name)")
                }
                try vocabulary(type, "\(field).type", .sourceOrDestinationType, "source/destination type")
                try uri(id, "\(field).\(name)")
                try onlyKeys(item, field, ["type", name])
            }
        case "ilmd":
            guard value.members != nil else { throw fail(key, "must be an object") }
            try namespacedKeys(value, key, except: [])
        case "certificationInfo":
            if let items = value.arrayValue {
                for (i, item) in items.enumerated() { try uri(item, "\(key)[\(i)]") }
            } else {
                try uri(value, key)
            }
        case "errorDeclaration":
            guard value.members != nil, let time = value["declarationTime"] else {
                throw fail(key, "must be an object with a declarationTime")
            }
            try EPCISValidator.checkTime(time, "\(path).\(key).declarationTime")
            try namespacedKeys(value, key, except: ["declarationTime", "reason", "correctiveEventIDs"])
        case "sensorElementList":
            for (i, item) in try list(value, key).enumerated() {
                let field = "\(key)[\(i)]"
                guard item.members != nil, let reports = item["sensorReport"]?.arrayValue, !reports.isEmpty else {
                    throw fail(field, "must be an object with a non-empty sensorReport list")
                }
                try namespacedKeys(item, field, except: ["sensorMetadata", "sensorReport"])
            }
        default:
            guard key.contains(":") else {
                throw fail(
                    key, "is not an EPCIS field; an extension field needs a namespace prefix (like example:\(key))")
            }
        }
    }

    private func quantityElement(_ value: JSONValue, _ field: String) throws {
        guard value.members != nil else { throw fail(field, "must be an object with an epcClass") }
        guard let epcClass = value["epcClass"] else { throw fail("\(field).epcClass", "missing") }
        try uri(epcClass, "\(field).epcClass")
        if let quantity = value["quantity"] {
            guard case .number(let text) = quantity else {
                throw fail("\(field).quantity", "\(describe(quantity)) is not a number")
            }
            guard let number = Double(text), number.isFinite, number >= 0 else {
                throw fail("\(field).quantity", "\(text) is not a finite number of at least 0")
            }
        }
        if let uom = value["uom"], uom.stringValue == nil { throw fail("\(field).uom", "must be a string") }
        try onlyKeys(value, field, ["epcClass", "quantity", "uom"])
    }

    private func onlyKeys(_ value: JSONValue, _ field: String, _ allowed: Set<String>) throws {
        for member in value.members ?? [] where !allowed.contains(member.key) {
            throw fail(
                "\(field).\(member.key)", "is not allowed here (only \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    private func namespacedKeys(_ value: JSONValue, _ field: String, except standard: Set<String>) throws {
        for member in value.members ?? [] where !standard.contains(member.key) && !member.key.contains(":") {
            throw fail(
                "\(field).\(member.key)", "has no namespace prefix (user fields are written like example:\(member.key))"
            )
        }
    }
}
