import CProtobufC
import MESDomain
import MESProtoC

/// `mes.v1.LotRef` requests and `mes.v1.HistoryEntry` answers of `Genealogy.LotHistory`.
public enum HistoryCodec {
    /// Decodes a top-level `mes.v1.LotRef`.
    public static func decodeLotRef(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> LotRef {
        guard
            let message = mes__v1__lot_ref__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.LotRef") }
        defer { mes__v1__lot_ref__free_unpacked(message, nil) }
        try RequestFieldCheck.check(bytes, message.pointee.base.descriptor)
        return try lotRef(message, "")
    }

    /// Encodes a top-level `mes.v1.LotRef`.
    public static func encodeLotRef(_ ref: LotRef) -> [UInt8] {
        let arena = CArena()
        return pack(&arena.lotRef(ref).pointee.base)
    }

    /// One `mes.v1.HistoryEntry`. `rawEvent` is the stored `mes.v1.Event` as received: it is
    /// appended as field 4 (length-delimited) after the packed scalar fields, unparsed, so the
    /// auditor gets exactly the bytes the client sent. `plant` (field 5, left out when empty) is
    /// the event's plant (genealogy/MODEL.md, "Many plants"); `correction` marks a voided or
    /// replaced event, `corrects` names the event a replacement replaces.
    public static func encodeEntry(
        sequence: Int64, recordedAtMs: Int64, client: String, plant: String = "", correction: CorrectionMark? = nil,
        corrects: String = "", rawEvent: [UInt8]
    ) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__HistoryEntry()
        mes__v1__history_entry__init(&message)
        message.sequence = sequence
        message.recorded_at_ms = recordedAtMs
        message.client = arena.string(client)
        message.plant = arena.string(plant)
        message.corrects_event_id = arena.string(corrects)
        if let correction {
            let mark = arena.array(1, Mes__V1__CorrectionMark())
            mes__v1__correction_mark__init(mark)
            mark.pointee.correction_id = correction.id
            mark.pointee.reason = arena.string(correction.reason)
            mark.pointee.corrected_by = arena.string(correction.by)
            mark.pointee.corrected_at_ms = correction.atMs
            mark.pointee.replacement_event_id = arena.string(correction.replacementEventID)
            message.corrected = mark
        }
        var bytes = pack(&message.base)
        bytes.append(0x22)  // field 4, wire type 2
        var length = UInt64(rawEvent.count)
        while length >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: length) | 0x80)
            length >>= 7
        }
        bytes.append(UInt8(length))
        bytes.append(contentsOf: rawEvent)
        return bytes
    }

    /// One decoded `mes.v1.HistoryEntry` (for the CLI and tests); `rawEvent` is the event's bytes.
    public struct Entry: Sendable, Hashable {
        public var sequence: Int64
        public var recordedAtMs: Int64
        public var client: String
        public var plant: String
        public var correction: CorrectionMark?
        public var corrects: String
        public var rawEvent: [UInt8]
    }

    /// Decodes a `mes.v1.HistoryEntry`.
    public static func decodeEntry(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> Entry {
        guard
            let message = mes__v1__history_entry__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.HistoryEntry") }
        defer { mes__v1__history_entry__free_unpacked(message, nil) }
        let m = message.pointee
        guard let event = m.event else { throw .malformed("mes.v1.HistoryEntry without its event") }
        var correction: CorrectionMark?
        if let c = m.corrected?.pointee {
            correction = CorrectionMark(
                id: c.correction_id, reason: try decodeString(c.reason, field: "corrected.reason"),
                by: try decodeString(c.corrected_by, field: "corrected.corrected_by"), atMs: c.corrected_at_ms,
                replacementEventID: try decodeString(c.replacement_event_id, field: "corrected.replacement_event_id"))
        }
        return Entry(
            sequence: m.sequence, recordedAtMs: m.recorded_at_ms,
            client: try decodeString(m.client, field: "client"), plant: try decodeString(m.plant, field: "plant"),
            correction: correction, corrects: try decodeString(m.corrects_event_id, field: "corrects_event_id"),
            rawEvent: event.withMemoryRebound(to: ProtobufCMessage.self, capacity: 1) { pack($0) })
    }
}
