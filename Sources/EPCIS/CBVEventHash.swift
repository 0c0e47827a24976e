internal import Crypto

/// The CBV 2.0 event hash ID (GS1 CBV 2.0 §8.9): a name for an EPCIS event that does not depend on
/// how the event was written (JSON or XML, key order, EPC URN or GS1 Digital Link, time zone,
/// number format). The canonical pre-hash string follows the reference implementation
/// RalphTro/epcis-event-hash-generator exactly, so ids agree with other EPCIS systems.
/// Pure and thread-safe; about a few microseconds per event.
public enum CBVEventHash {
    /// One `ni:///sha-256;<hex>?ver=CBV2.0` id per event of an EPCIS 2.0 JSON-LD document, in document order.
    public static func hashIDs(ofDocument json: [UInt8]) throws -> [String] {
        try preHashes(ofDocument: json).map(id(ofPreHash:))
    }

    /// The id of one event (a JSON object's bytes); `namespaces` maps @context prefixes to IRIs.
    public static func hashID(ofEvent json: [UInt8], namespaces: [String: String]) throws -> String {
        id(ofPreHash: try preHash(ofEvent: json, namespaces: namespaces))
    }

    /// The canonical pre-hash string (for debugging and tests).
    public static func preHash(ofEvent json: [UInt8], namespaces: [String: String]) throws -> String {
        let event = try parse(json)
        guard case .object = event else { throw EPCISError("an event must be a JSON object, not \(event.kindName)") }
        let context = PreHashContext(namespaces: namespaces, values: [event])
        return PreHashBuilder.preHash(of: event, context: context, ignoring: [])
    }

    /// The pre-hash strings of every event of a document, in document order.
    public static func preHashes(ofDocument json: [UInt8]) throws -> [String] {
        let document = try EPCISDocumentShape(try parse(json))
        let context = PreHashContext(namespaces: document.namespaces, values: [document.root])
        return document.events.map {
            PreHashBuilder.preHash(of: $0, context: context, ignoring: document.ignoredFields)
        }
    }

    /// The id of an already parsed event.
    public static func hashID(ofEvent event: JSONValue, namespaces: [String: String]) -> String {
        let context = PreHashContext(namespaces: namespaces, values: [event])
        return id(ofPreHash: PreHashBuilder.preHash(of: event, context: context, ignoring: []))
    }

    /// `ni:///sha-256;<hex>?ver=CBV2.0` of a pre-hash string.
    public static func id(ofPreHash preHash: String) -> String {
        let digest = SHA256.hash(data: Array(preHash.utf8))
        var text = "ni:///sha-256;"
        text.reserveCapacity(14 + 64 + 11)
        let hex: [Character] = Array("0123456789abcdef")
        for byte in digest {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0F)])
        }
        text += "?ver=CBV2.0"
        return text
    }

    private static func parse(_ json: [UInt8]) throws -> JSONValue {
        do { return try JSONReader.parse(json) } catch { throw EPCISError(error.description) }
    }
}
