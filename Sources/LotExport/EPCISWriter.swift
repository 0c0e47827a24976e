import GenealogyStore
import MESDomain

/// The CBV 2.0 event hash id of one EPCIS event's JSON (without `eventID`), given the namespace
/// prefixes of the document's `@context`: `ni:///sha-256;…?ver=CBV2.0`.
public typealias EventHashFunction = @Sendable (_ eventJSON: [UInt8], _ namespaces: [String: String]) throws -> String

/// Writes an EPCIS 2.0 JSON-LD `EPCISDocument` (see `EPCISEvents` for the mapping of each event).
public struct EPCISWriter: Sendable {
    /// The EPCIS 2.0 context every document names first.
    public static let context = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
    /// The prefix of mesgate's extension fields (`mesgate:operator`, …) and its IRI.
    public static let namespaces = ["mesgate": "urn:mesgate:ext:"]

    let hashID: EventHashFunction

    public init(hashID: @escaping EventHashFunction) { self.hashID = hashID }

    /// The document, UTF-8 JSON. Throws what the hash function throws.
    public func document(_ content: ExportContent) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(content.events.count * 900 + 4096)
        let header: [(String, JSON)] = [
            (
                "@context",
                .array([.string(Self.context), .object(Self.namespaces.map { ($0.key, .string($0.value)) })])
            ),
            ("type", .string("EPCISDocument")),
            ("schemaVersion", .string("2.0")),
            ("creationDate", .string(LocalTime.utc.iso(content.createdAtMs))),
            ("mesgate:lot", .string(LotURI.item(content.start))),
            ("mesgate:direction", .string(content.direction == .unspecified ? "both" : content.directionWord)),
            ("mesgate:truncated", .bool(content.truncated)),
            ("mesgate:undecodableEvents", .integer(Int64(content.undecodable.count))),
        ]
        // The header members, then the event list written one event at a time.
        var head = JSON.object(header).bytes
        head.removeLast()  // "}"
        out += head
        out += Array(#","epcisBody":{"eventList":["#.utf8)
        var first = true
        for event in EPCISEvents.events(content) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            try write(event, into: &out)
        }
        out += Array("]}}\n".utf8)
        return out
    }

    /// `{"eventID":"<hash>", …members}`: the hash is taken over the event without `eventID`.
    func write(_ members: [(String, JSON)], into out: inout [UInt8]) throws {
        let body = JSON.object(members).bytes
        let id = try hashID(body, Self.namespaces)
        out += Array(#"{"eventID":"#.utf8)
        JSON.writeString(id, into: &out)
        if body.count > 2 { out.append(UInt8(ascii: ",")) }
        out += body[1...]
    }
}

extension ExportContent {
    var directionWord: String { direction == .backward ? "backward" : "forward" }
}
