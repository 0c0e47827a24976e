/// Where the events of an EPCIS 2.0 JSON(-LD) document are, and what its @context declares.
/// Accepts `EPCISDocument` (`epcisBody.eventList`), `EPCISQueryDocument`
/// (`epcisBody.queryResults.resultsBody.eventList`) and a body with a single `event`.
public struct EPCISDocumentShape: Sendable {
    /// The whole document.
    public var root: JSONValue
    /// The events in document order.
    public var events: [JSONValue]
    /// The JSON path of `events`, for messages (`eventList`, `queryResults.resultsBody.eventList`, `event`).
    public var eventsPath: String
    /// Prefixes declared by the object entries of the @context list, to their IRIs.
    public var namespaces: [String: String]
    /// Top-level fields the document asks hashers to ignore (the reference implementation's
    /// `<prefix>:ignoreFields`, whose prefix is bound to `https://repository-x.example.com/`).
    public var ignoredFields: [String]

    public init(_ root: JSONValue) throws {
        guard case .object = root else {
            throw EPCISError("an EPCIS document must be a JSON object, not \(root.kindName)")
        }
        self.root = root
        namespaces = Self.namespaces(of: root["@context"])
        guard let body = root["epcisBody"] else { throw EPCISError("epcisBody: missing") }
        guard case .object = body else { throw EPCISError("epcisBody: must be an object, not \(body.kindName)") }
        var ignoreHolder = root
        if let list = body["eventList"] {
            guard let items = list.arrayValue else { throw EPCISError("epcisBody.eventList: must be an array") }
            events = items
            eventsPath = "eventList"
        } else if let results = body["queryResults"] {
            guard let list = results["resultsBody"]?["eventList"], let items = list.arrayValue else {
                throw EPCISError("epcisBody.queryResults.resultsBody.eventList: missing or not an array")
            }
            events = items
            eventsPath = "queryResults.resultsBody.eventList"
            ignoreHolder = results
        } else if let event = body["event"] {
            events = [event]
            eventsPath = "event"
        } else {
            throw EPCISError("epcisBody: has neither eventList, queryResults nor event")
        }
        ignoredFields = []
        for (prefix, iri) in namespaces.sorted(by: { $0.key < $1.key }) where iri == "https://repository-x.example.com/"
        {
            if let list = ignoreHolder[prefix + ":ignoreFields"]?.arrayValue {
                ignoredFields = list.compactMap(\.stringValue)
            }
            break
        }
    }

    /// Prefix → IRI of the object entries of a @context list (strings name remote contexts).
    static func namespaces(of context: JSONValue?) -> [String: String] {
        guard let items = context?.arrayValue else { return [:] }
        var namespaces: [String: String] = [:]
        for item in items {
            for member in item.members ?? [] {
                if let iri = member.value.stringValue { namespaces[member.key] = iri }
            }
        }
        return namespaces
    }
}
