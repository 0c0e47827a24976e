import MESDomain
import Testing

@testable import MESMessages

/// Event field numbers from proto/mes/v1/events.proto.
private func eventHeader(_ w: inout WireWriter, id: String = "ev-1") {
    w.string(1, id)
    w.int64(2, 1_780_000_000_000)
    w.string(3, "+02:00")
    w.string(4, "plant-1")
    w.string(5, "wc-7")
    w.string(6, "op-42")
    w.string(7, "WH/MO/00012")
}

private func decode(_ bytes: [UInt8]) throws -> Event {
    try bytes.withUnsafeBytes { try EventCodec.decode($0) }
}

@Test func decodesAConsumptionWithInto() throws {
    var w = WireWriter()
    eventHeader(&w)
    w.message(11) { c in
        c.message(1) { WireWriter.lotRef(&$0, product: "STEEL", lot: "L-1") }
        c.message(2) { WireWriter.quantity(&$0, 2.5, "kg") }
        c.message(3) { WireWriter.lotRef(&$0, product: "FRAME", serial: "SN-9") }
    }
    let event = try decode(w.bytes)
    #expect(event.eventID == "ev-1")
    #expect(event.occurredAtMs == 1_780_000_000_000)
    #expect(event.tzOffset == "+02:00")
    #expect(event.plant == "plant-1" && event.workCenter == "wc-7" && event.operatorID == "op-42")
    #expect(event.workOrder == "WH/MO/00012")
    #expect(
        event.body
            == .consumed(
                MaterialConsumed(
                    component: LotRef(product: "STEEL", lot: "L-1"), qty: Quantity(value: 2.5, uom: "kg"),
                    into: LotRef(product: "FRAME", serial: "SN-9"))))
}

@Test func absentSubMessagesStayAbsent() throws {
    var w = WireWriter()
    eventHeader(&w)
    w.message(11) { c in c.message(1) { WireWriter.lotRef(&$0, product: "GLUE") } }
    let event = try decode(w.bytes)
    #expect(event.body == .consumed(MaterialConsumed(component: LotRef(product: "GLUE"), qty: nil, into: nil)))
}

@Test func decodesPackedContentsAndEnums() throws {
    var w = WireWriter()
    eventHeader(&w)
    w.message(18) { p in
        p.message(1) { WireWriter.lotRef(&$0, container: "SSCC-1") }
        p.message(2) { WireWriter.lotRef(&$0, product: "A", lot: "1") }
        p.message(2) { WireWriter.lotRef(&$0, product: "B", serial: "2") }
        p.int64(3, 2)
    }
    let event = try decode(w.bytes)
    #expect(
        event.body
            == .packed(
                Packed(
                    container: LotRef(container: "SSCC-1"),
                    contents: [LotRef(product: "A", lot: "1"), LotRef(product: "B", serial: "2")], action: .delete)))
}

@Test func decodesQualityMeasurements() throws {
    var w = WireWriter()
    eventHeader(&w)
    w.message(15) { q in
        q.message(1) { WireWriter.lotRef(&$0, product: "P", lot: "L") }
        q.string(2, "torque")
        q.int64(3, 2)
        q.message(4) { m in
            m.string(1, "nm")
            m.double(2, 12.5)
            m.string(3, "N·m")
            m.double(4, 10)
            m.double(5, 15)
        }
    }
    let event = try decode(w.bytes)
    #expect(
        event.body
            == .quality(
                QualityResult(
                    lot: LotRef(product: "P", lot: "L"), check: "torque", outcome: .fail,
                    measurements: [.init(name: "nm", value: 12.5, unit: "N·m", lower: 10, upper: 15)])))
}

@Test func anEventWithoutBodyDecodesWithNilBody() throws {
    var w = WireWriter()
    eventHeader(&w)
    #expect(try decode(w.bytes).body == nil)
}

@Test(arguments: [
    [0xFF, 0xFF, 0xFF],  // a tag whose varint never ends
    [0x0A, 0x10, 0x41],  // event_id claims 16 bytes, has 1
    [0x52, 0x05, 0x0A, 0x03],  // `consumed` truncated inside its LotRef
])
func malformedBytesAreRefused(bytes: [UInt8]) {
    #expect(throws: MessageDecodingError.self) { try decode(bytes) }
}

@Test func invalidUTF8IsRefusedNamingTheField() {
    var w = WireWriter()
    w.string(1, "ok")
    w.bytesField(4, [0x70, 0xC3, 0x28])  // plant: an invalid two-byte sequence
    #expect(throws: MessageDecodingError(field: "plant", reason: "is not valid UTF-8")) { try decode(w.bytes) }
}

@Test func unknownEnumValuesAreRefusedNamingTheField() {
    var w = WireWriter()
    eventHeader(&w)
    w.message(13) { o in
        o.string(1, "drill")
        o.int64(2, 9)
    }
    #expect(throws: MessageDecodingError.self) { try decode(w.bytes) }
    do {
        _ = try decode(w.bytes)
    } catch let error as MessageDecodingError {
        #expect(error.field == "operation.state")
    } catch {
        Issue.record("unexpected error \(error)")
    }
}

@Test func ackRoundTrips() throws {
    let ack = Ack(eventID: "ev-9", result: .rejected, sequence: 0, reason: "must be > 0", field: "consumed.qty.value")
    let bytes = AckCodec.encode(ack)
    let decoded = try bytes.withUnsafeBytes { try AckCodec.decode($0) }
    #expect(decoded == ack)
    // Field 2 (result) is a varint 3 (REJECTED): check the wire bytes independently of protobuf-c's decoder.
    #expect(bytes.starts(with: [0x0A, 0x04] + Array("ev-9".utf8) + [0x10, 0x03]))
}
