import CProtobufC
import MESDomain
import MESProtoC

/// `mes.v1.ExportRequest` ↔ `ExportRequest`, and the `mes.v1.ExportChunk` messages of the answer.
public enum ExportCodec {
    public static func decodeRequest(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> ExportRequest {
        guard
            let message = mes__v1__export_request__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.ExportRequest") }
        defer { mes__v1__export_request__free_unpacked(message, nil) }
        try RequestFieldCheck.check(bytes, message.pointee.base.descriptor)
        let r = message.pointee
        return ExportRequest(
            lot: try lotRef(r.lot, "lot"), direction: try enumValue(r.direction.rawValue, "direction"),
            format: try enumValue(r.format.rawValue, "format"))
    }

    public static func encodeRequest(_ request: ExportRequest) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__ExportRequest()
        mes__v1__export_request__init(&message)
        message.lot = arena.lotRef(request.lot)
        message.direction = Mes__V1__Direction(rawValue: UInt32(bitPattern: request.direction.rawValue))
        message.format = Mes__V1__ExportRequest__Format(rawValue: UInt32(bitPattern: request.format.rawValue))
        return pack(&message.base)
    }

    /// One `mes.v1.ExportChunk` carrying `data` (field 1, length-delimited), written directly:
    /// the bytes are copied once, not through a C message.
    public static func encodeChunk<Bytes: Collection<UInt8>>(_ data: Bytes) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(data.count + 6)
        bytes.append(0x0A)  // field 1, wire type 2
        var length = UInt64(data.count)
        while length >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: length) | 0x80)
            length >>= 7
        }
        bytes.append(UInt8(length))
        bytes.append(contentsOf: data)
        return bytes
    }

    /// The data of one `mes.v1.ExportChunk`.
    public static func decodeChunk(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> [UInt8] {
        guard
            let message = mes__v1__export_chunk__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.ExportChunk") }
        defer { mes__v1__export_chunk__free_unpacked(message, nil) }
        let data = message.pointee.data
        guard let base = data.data, data.len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: data.len))
    }
}
