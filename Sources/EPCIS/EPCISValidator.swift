/// The checks an EPCIS 2.0 JSON capture document must pass before anything of it is stored: what
/// the GS1 JSON schema requires (required fields per event type, `action` values, numbers, lists)
/// plus what it leaves to the CBV (bizStep, disposition, source/destination and business
/// transaction types: CBV words or URIs; namespaced extension and ILMD fields; date-time formats
/// with a zone). Not a general JSON-schema validator: only what EPCIS needs, with messages that
/// name the event and field (`eventList[1].bizStep: "xyz" is not a CBV bizStep and not a URI`).
public enum EPCISValidator {
    static let eventTypes: Set<String> = [
        "ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent",
    ]
    static let actions: Set<String> = ["ADD", "OBSERVE", "DELETE"]
    /// Fields every event type may carry; anything else must be a namespaced extension.
    static let standardFields: Set<String> = [
        "type", "eventTime", "eventTimeZoneOffset", "recordTime", "eventID", "certificationInfo", "errorDeclaration",
        "epcList", "quantityList", "action", "bizStep", "disposition", "persistentDisposition", "readPoint",
        "bizLocation", "bizTransactionList", "sourceList", "destinationList", "sensorElementList", "ilmd", "parentID",
        "childEPCs", "childQuantityList", "inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList",
        "transformationID", "@context",
    ]

    /// Checks a parsed document and returns where its events are; throws the first problem found.
    public static func validate(_ root: JSONValue) throws -> EPCISDocumentShape {
        guard case .object = root else { throw EPCISError("the document must be a JSON object, not \(root.kindName)") }
        guard let context = root["@context"] else {
            throw EPCISError("@context: missing (an EPCIS 2.0 JSON-LD document names the EPCIS context)")
        }
        switch context {
        case .string(let text) where !text.isEmpty: break
        case .array(let items) where !items.isEmpty: break
        case .object: break
        default:
            throw EPCISError("@context: must be the EPCIS context URI or a non-empty list, not \(context.kindName)")
        }
        guard let type = root["type"]?.stringValue else { throw EPCISError("type: missing") }
        switch type {
        case "EPCISDocument", "EPCISQueryDocument":
            guard let version = root["schemaVersion"] else { throw EPCISError("schemaVersion: missing") }
            guard case .string = version else { throw EPCISError("schemaVersion: must be a string like \"2.0\"") }
            if type == "EPCISDocument" {
                guard let created = root["creationDate"] else { throw EPCISError("creationDate: missing") }
                try checkTime(created, "creationDate")
            }
        default:
            throw EPCISError("type: \"\(type)\" is not EPCISDocument or EPCISQueryDocument")
        }
        let shape = try EPCISDocumentShape(root)
        for (index, event) in shape.events.enumerated() {
            try EventChecks(path: "\(shape.eventsPath)[\(index)]", event: event).run()
        }
        return shape
    }

    /// Parses and checks a document's bytes.
    public static func validate(json: [UInt8]) throws -> EPCISDocumentShape {
        let root: JSONValue
        do { root = try JSONReader.parse(json) } catch { throw EPCISError(error.description) }
        return try validate(root)
    }

    static func checkTime(_ value: JSONValue, _ path: String) throws {
        guard let text = value.stringValue else {
            throw EPCISError("\(path): must be a date-time string, not \(value.kindName)")
        }
        guard let time = ISOTimestamp(text), time.offsetMinutes != nil, text.contains("T") else {
            throw EPCISError(
                "\(path): \"\(text)\" is not an RFC 3339 date-time with a time zone (like 2026-07-22T06:45:00+02:00)")
        }
    }

    /// Whether a string is an absolute URI: a scheme (`[A-Za-z][A-Za-z0-9+.-]*`), a colon, and more.
    public static func isURI(_ text: String) -> Bool {
        guard let colon = text.utf8.firstIndex(of: UInt8(ascii: ":")), colon != text.utf8.startIndex else {
            return false
        }
        let scheme = text.utf8[..<colon]
        guard let first = scheme.first, (first | 0x20) >= 0x61, (first | 0x20) <= 0x7A else { return false }
        for c in scheme {
            let letter = (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A
            let digit = c >= 0x30 && c <= 0x39
            guard letter || digit || c == 0x2B || c == 0x2D || c == 0x2E else { return false }
        }
        guard text.utf8.index(after: colon) != text.utf8.endIndex else { return false }
        return !text.utf8.contains(where: { $0 <= 0x20 })
    }
}
