import CProtobufC
import MESDomain
import MESProtoC

/// Encodes a domain `Ack` as `mes.v1.Ack` with protobuf-c.
public enum AckCodec {
    public static func encode(_ ack: Ack) -> [UInt8] {
        withCStrings([ack.eventID, ack.reason, ack.field]) { strings in
            var message = Mes__V1__Ack()
            mes__v1__ack__init(&message)
            message.event_id = strings[0]
            message.result = Mes__V1__Ack__Result(rawValue: UInt32(ack.result.rawValue))
            message.sequence = ack.sequence
            message.reason = strings[1]
            message.field = strings[2]
            return pack(&message.base)
        }
    }

    /// Decodes `mes.v1.Ack`; used by tests and load clients.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> Ack {
        guard
            let message = mes__v1__ack__unpack(nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.Ack") }
        defer { mes__v1__ack__free_unpacked(message, nil) }
        let a = message.pointee
        guard let result = Ack.Result(rawValue: Int32(bitPattern: a.result.rawValue)) else {
            throw MessageDecodingError(field: "result", reason: "has an unknown enum value")
        }
        return Ack(
            eventID: try decodeString(a.event_id, field: "event_id"), result: result, sequence: a.sequence,
            reason: try decodeString(a.reason, field: "reason"), field: try decodeString(a.field, field: "field"))
    }
}

/// Serializes any protobuf-c message into a new byte array.
func pack(_ message: UnsafePointer<ProtobufCMessage>) -> [UInt8] {
    let size = protobuf_c_message_get_packed_size(message)
    return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
        count = protobuf_c_message_pack(message, buffer.baseAddress)
    }
}
