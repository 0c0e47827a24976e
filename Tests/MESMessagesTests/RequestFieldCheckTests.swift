import MESDomain
import Testing

@testable import MESMessages

/// A NUL inside a string (legal UTF-8) must not be cut off by protobuf-c's C strings, and no string
/// or list may exceed its `FieldLimits`: every request decoder refuses them, naming the field.
@Suite struct RequestFieldCheckTests {
    static func event(id: String = "ev-1", _ body: (inout WireWriter) -> Void) -> [UInt8] {
        var w = WireWriter()
        w.string(1, id)
        w.int64(2, 1_780_000_000_000)
        body(&w)
        return w.bytes
    }

    static func decodeEvent(_ bytes: [UInt8]) throws -> Event {
        try bytes.withUnsafeBytes { try EventCodec.decode($0) }
    }

    static func consumed(lot: String) -> [UInt8] {
        event { w in
            w.message(11) { c in
                c.message(1) { WireWriter.lotRef(&$0, product: "STEEL", lot: lot) }
                c.message(2) { WireWriter.quantity(&$0, 1, "kg") }
            }
        }
    }

    @Test func aNULInTheEventIDIsRefusedNotCut() {
        let bytes = Self.event(id: "id\0nul") { $0.string(4, "plant-1") }
        #expect(throws: MessageDecodingError(field: "event_id", reason: "contains a NUL character")) {
            try Self.decodeEvent(bytes)
        }
        // Its REJECTED Ack cannot carry it whole (protobuf-c writes C strings): none rather than a cut one.
        #expect(bytes.withUnsafeBytes { EventCodec.eventID($0) } == "")
        let long = String(repeating: "e", count: 200)
        #expect(Self.event(id: long) { $0.string(4, "p") }.withUnsafeBytes { EventCodec.eventID($0) } == long)
        #expect(Self.consumed(lot: "L\0").withUnsafeBytes { EventCodec.eventID($0) } == "ev-1")
        #expect([0x0A, 0x05, 0x41].withUnsafeBytes { EventCodec.eventID($0) } == "")  // truncated
    }

    @Test func aNULInANestedStringNamesItsPath() {
        #expect(throws: MessageDecodingError(field: "consumed.component.lot", reason: "contains a NUL character")) {
            try Self.decodeEvent(Self.consumed(lot: "L\0X"))
        }
        let packed = Self.event { w in
            w.message(18) { p in
                p.message(1) { WireWriter.lotRef(&$0, container: "SSCC-1") }
                p.message(2) { WireWriter.lotRef(&$0, product: "A", lot: "1") }
                p.message(2) { WireWriter.lotRef(&$0, product: "B", serial: "2\0") }
                p.int64(3, 1)
            }
        }
        #expect(throws: MessageDecodingError(field: "packed.contents[1].serial", reason: "contains a NUL character")) {
            try Self.decodeEvent(packed)
        }
    }

    @Test func stringsWithoutNULStillDecodeWhole() throws {
        let event = try Self.decodeEvent(Self.consumed(lot: "L-ü-1"))
        #expect(
            event.body
                == .consumed(
                    MaterialConsumed(
                        component: LotRef(product: "STEEL", lot: "L-ü-1"), qty: Quantity(value: 1, uom: "kg"), into: nil
                    )))
    }

    @Test func everyRequestDecoderRefusesANUL() {
        var lot = WireWriter()
        WireWriter.lotRef(&lot, product: "P\0", lot: "L")
        var trace = WireWriter()
        trace.message(1) { WireWriter.lotRef(&$0, product: "P", lot: "L\0") }
        var hold = WireWriter()
        hold.message(1) { WireWriter.lotRef(&$0, product: "P", lot: "L") }
        hold.string(2, "why\0")
        var export = WireWriter()
        export.message(1) { WireWriter.lotRef(&$0, container: "\0C") }
        var filter = WireWriter()
        filter.string(2, "wc\0")
        var health = WireWriter()
        health.string(1, "mes.v1.Genealogy\0")
        var reflection = WireWriter()
        reflection.string(4, "mes.v1\0.Genealogy")  // file_containing_symbol
        func refused(_ bytes: [UInt8], _ decode: (UnsafeRawBufferPointer) throws -> Void) -> MessageDecodingError? {
            do {
                try bytes.withUnsafeBytes { try decode($0) }
                return nil
            } catch {
                return error as? MessageDecodingError
            }
        }
        let nul = "contains a NUL character"
        #expect(refused(lot.bytes) { _ = try HistoryCodec.decodeLotRef($0) }?.description == "product: \(nul)")
        #expect(refused(trace.bytes) { _ = try TraceCodec.decodeRequest($0) }?.description == "lot.lot: \(nul)")
        #expect(refused(hold.bytes) { _ = try HoldCodec.decodeRequest($0) }?.description == "reason: \(nul)")
        #expect(refused(export.bytes) { _ = try ExportCodec.decodeRequest($0) }?.description == "lot.container: \(nul)")
        #expect(refused(filter.bytes) { _ = try WorkOrderCodec.decodeFilter($0) }?.description == "work_center: \(nul)")
        #expect(refused(health.bytes) { _ = try HealthCodec.decodeRequest($0) }?.description == "service: \(nul)")
        #expect(
            refused(reflection.bytes) { _ = try ReflectionCodec.decodeRequest($0) }?.description
                == "file_containing_symbol: \(nul)")
    }

    @Test func stringsOverTheirLimitAreRefusedNamingTheLimit() throws {
        let long = String(repeating: "x", count: FieldLimits.identifierBytes + 1)
        #expect(throws: MessageDecodingError(field: "consumed.component.lot", reason: "is longer than 256 bytes")) {
            try Self.decodeEvent(Self.consumed(lot: long))
        }
        #expect(throws: MessageDecodingError(field: "event_id", reason: "is longer than 128 bytes")) {
            try Self.decodeEvent(Self.event(id: String(repeating: "e", count: 129)) { _ in })
        }
        // Free text may be longer than an identifier, up to 4 KiB.
        let reason = String(repeating: "r", count: FieldLimits.textBytes)
        let scrap = { (reason: String) in
            Self.event { w in
                w.message(17) { s in
                    s.message(1) { WireWriter.lotRef(&$0, product: "P", lot: "L") }
                    s.message(2) { WireWriter.quantity(&$0, 1, "kg") }
                    s.string(3, reason)
                }
            }
        }
        _ = try Self.decodeEvent(scrap(reason))
        #expect(throws: MessageDecodingError(field: "scrapped.reason", reason: "is longer than 4096 bytes")) {
            try Self.decodeEvent(scrap(reason + "r"))
        }
        var hold = WireWriter()
        hold.string(2, reason + "r")
        #expect(throws: MessageDecodingError(field: "reason", reason: "is longer than 4096 bytes")) {
            try hold.bytes.withUnsafeBytes { _ = try HoldCodec.decodeRequest($0) }
        }
    }

    @Test func listsOverTheirLimitAreRefusedNamingTheLimit() throws {
        func packed(_ count: Int) -> [UInt8] {
            Self.event { w in
                w.message(18) { p in
                    p.message(1) { WireWriter.lotRef(&$0, container: "SSCC-1") }
                    for i in 0..<count { p.message(2) { WireWriter.lotRef(&$0, product: "A", serial: "\(i)") } }
                    p.int64(3, 1)
                }
            }
        }
        let full = try Self.decodeEvent(packed(FieldLimits.packedContents))
        guard case .packed(let body) = full.body else { throw MessageDecodingError(field: "", reason: "no body") }
        #expect(body.contents.count == FieldLimits.packedContents)
        #expect(throws: MessageDecodingError(field: "packed.contents", reason: "has more than 1000 items")) {
            try Self.decodeEvent(packed(FieldLimits.packedContents + 1))
        }
        let quality = Self.event { w in
            w.message(15) { q in
                q.message(1) { WireWriter.lotRef(&$0, product: "P", lot: "L") }
                q.string(2, "torque")
                q.int64(3, 1)
                for _ in 0...FieldLimits.measurements { q.message(4) { $0.string(1, "m") } }
            }
        }
        #expect(throws: MessageDecodingError(field: "quality.measurements", reason: "has more than 500 items")) {
            try Self.decodeEvent(quality)
        }
    }

    /// A sub-message sent twice is one message after unpacking: its lists count together.
    @Test func aSubMessageSentTwiceCountsItsItemsTogether() {
        let split = Self.event { w in
            for _ in 0..<2 {
                w.message(18) { p in
                    for i in 0..<(FieldLimits.packedContents / 2 + 1) {
                        p.message(2) { WireWriter.lotRef(&$0, product: "A", serial: "\(i)") }
                    }
                }
            }
        }
        #expect(throws: MessageDecodingError(field: "packed.contents", reason: "has more than 1000 items")) {
            try Self.decodeEvent(split)
        }
    }
}
