import CProtobufC
import MESDomain
import MESProtoC

/// `mes.v1.CorrectionRequest` and `mes.v1.CorrectionResult`, with protobuf-c.
public enum CorrectionCodec {
    /// A decoded request: the replacement comes as its `mes.v1.Event` bytes too (what the store
    /// keeps of an event).
    public struct Request: Sendable {
        public var eventID: String
        public var reason: String
        public var replacement: (event: Event, raw: [UInt8])?

        public init(eventID: String, reason: String, replacement: (event: Event, raw: [UInt8])? = nil) {
            self.eventID = eventID
            self.reason = reason
            self.replacement = replacement
        }
    }

    /// Decodes a request; a bad replacement names its field as `replacement.<path>`.
    public static func decodeRequest(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> Request {
        guard
            let message = mes__v1__correction_request__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.CorrectionRequest") }
        defer { mes__v1__correction_request__free_unpacked(message, nil) }
        try RequestFieldCheck.check(bytes, message.pointee.base.descriptor)
        let r = message.pointee
        var request = Request(
            eventID: try decodeString(r.event_id, field: "event_id"),
            reason: try decodeString(r.reason, field: "reason"))
        if let nested = r.replacement {
            let raw = pack(UnsafeRawPointer(nested).assumingMemoryBound(to: ProtobufCMessage.self))
            let decoded = raw.withUnsafeBytes { bytes -> Swift.Result<Event, MessageDecodingError> in
                do throws(MessageDecodingError) { return .success(try EventCodec.decode(bytes)) } catch {
                    return .failure(error)
                }
            }
            switch decoded {
            case .success(let event): request.replacement = (event, raw)
            case .failure(let error):
                throw MessageDecodingError(
                    field: error.field.isEmpty ? "replacement" : "replacement.\(error.field)", reason: error.reason)
            }
        }
        return request
    }

    /// Encodes a request (the CLI); `replacement` is a `mes.v1.Event`'s bytes.
    public static func encodeRequest(eventID: String, reason: String, replacement: [UInt8]?) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__CorrectionRequest()
        mes__v1__correction_request__init(&message)
        message.event_id = arena.string(eventID)
        message.reason = arena.string(reason)
        var nested: UnsafeMutablePointer<Mes__V1__Event>?
        if let replacement {
            nested = replacement.withUnsafeBytes {
                mes__v1__event__unpack(nil, $0.count, $0.baseAddress?.assumingMemoryBound(to: UInt8.self))
            }
            message.replacement = nested
        }
        defer { if let nested { mes__v1__event__free_unpacked(nested, nil) } }
        return pack(&message.base)
    }

    /// What a correction did, as `mes.v1.CorrectionResult` carries it.
    public struct Result: Sendable, Hashable {
        public var correctionID: Int64
        public var sequence: Int64
        public var replacementSequence: Int64
        public var reposted: [String]
        public var odooToReverse: [String]

        public init(
            correctionID: Int64, sequence: Int64, replacementSequence: Int64, reposted: [String],
            odooToReverse: [String]
        ) {
            self.correctionID = correctionID
            self.sequence = sequence
            self.replacementSequence = replacementSequence
            self.reposted = reposted
            self.odooToReverse = odooToReverse
        }
    }

    public static func encodeResult(_ result: Result) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__CorrectionResult()
        mes__v1__correction_result__init(&message)
        message.correction_id = result.correctionID
        message.sequence = result.sequence
        message.replacement_sequence = result.replacementSequence
        message.n_reposted = result.reposted.count
        message.reposted = arena.strings(result.reposted)
        message.n_odoo_to_reverse = result.odooToReverse.count
        message.odoo_to_reverse = arena.strings(result.odooToReverse)
        return pack(&message.base)
    }

    public static func decodeResult(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> Result {
        guard
            let message = mes__v1__correction_result__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.CorrectionResult") }
        defer { mes__v1__correction_result__free_unpacked(message, nil) }
        let m = message.pointee
        var result = Result(
            correctionID: m.correction_id, sequence: m.sequence, replacementSequence: m.replacement_sequence,
            reposted: [], odooToReverse: [])
        for i in 0..<m.n_reposted { result.reposted.append(try decodeString(m.reposted[i], field: "reposted")) }
        for i in 0..<m.n_odoo_to_reverse {
            result.odooToReverse.append(try decodeString(m.odoo_to_reverse[i], field: "odoo_to_reverse"))
        }
        return result
    }
}
