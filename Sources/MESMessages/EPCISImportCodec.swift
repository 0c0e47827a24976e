import CProtobufC
import MESDomain
import MESProtoC

/// `mes.v1.EPCISDocument` and `mes.v1.ImportResult` with protobuf-c.
public enum EPCISImportCodec {
    /// The document's JSON bytes.
    public static func decodeDocument(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> [UInt8] {
        guard
            let message = mes__v1__epcisdocument__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.EPCISDocument") }
        defer { mes__v1__epcisdocument__free_unpacked(message, nil) }
        try RequestFieldCheck.check(bytes, message.pointee.base.descriptor)
        let json = message.pointee.json
        guard json.len > 0, let data = json.data else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: json.len))
    }

    /// A request carrying `json` (for the CLI and tests).
    public static func encodeDocument(_ json: [UInt8]) -> [UInt8] {
        var message = Mes__V1__EPCISDocument()
        mes__v1__epcisdocument__init(&message)
        return json.withUnsafeBufferPointer { buffer in
            message.json = ProtobufCBinaryData(
                len: buffer.count, data: UnsafeMutablePointer(mutating: buffer.baseAddress))
            return pack(&message.base)
        }
    }

    public static func encodeResult(_ result: EPCISImportResult) -> [UInt8] {
        let arena = CArena()
        var m = Mes__V1__ImportResult()
        mes__v1__import_result__init(&m)
        m.events = UInt32(clamping: result.events)
        m.stored = UInt32(clamping: result.stored)
        m.duplicates = UInt32(clamping: result.duplicates)
        m.not_mapped = UInt32(clamping: result.notMapped)
        m.voided = UInt32(clamping: result.voided)
        m.lots = UInt32(clamping: result.lots)
        m.receipts = UInt32(clamping: result.receipts)
        m.transformations = UInt32(clamping: result.transformations)
        m.shipments = UInt32(clamping: result.shipments)
        m.scraps = UInt32(clamping: result.scraps)
        m.packings = UInt32(clamping: result.packings)
        m.import_id = result.importID
        m.document_sha256 = arena.string(result.documentSHA256)
        return pack(&m.base)
    }

    public static func decodeResult(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> EPCISImportResult {
        guard
            let message = mes__v1__import_result__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.ImportResult") }
        defer { mes__v1__import_result__free_unpacked(message, nil) }
        let m = message.pointee
        var result = EPCISImportResult()
        result.events = Int(m.events)
        result.stored = Int(m.stored)
        result.duplicates = Int(m.duplicates)
        result.notMapped = Int(m.not_mapped)
        result.voided = Int(m.voided)
        result.lots = Int(m.lots)
        result.receipts = Int(m.receipts)
        result.transformations = Int(m.transformations)
        result.shipments = Int(m.shipments)
        result.scraps = Int(m.scraps)
        result.packings = Int(m.packings)
        result.importID = m.import_id
        result.documentSHA256 = try decodeString(m.document_sha256, field: "document_sha256")
        return result
    }
}
