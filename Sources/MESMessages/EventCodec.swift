import CProtobufC
import MESDomain
import MESProtoC

/// Decodes `mes.v1.Event` with protobuf-c into a domain `Event`. The C message is unpacked,
/// copied into Swift values and freed within one call.
public enum EventCodec {
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> Event {
        guard
            let message = mes__v1__event__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.Event") }
        defer { mes__v1__event__free_unpacked(message, nil) }
        try RequestFieldCheck.check(bytes, message.pointee.base.descriptor)
        let e = message.pointee
        return Event(
            eventID: try decodeString(e.event_id, field: "event_id"),
            occurredAtMs: e.occurred_at_ms,
            tzOffset: try decodeString(e.tz_offset, field: "tz_offset"),
            plant: try decodeString(e.plant, field: "plant"),
            workCenter: try decodeString(e.work_center, field: "work_center"),
            operatorID: try decodeString(e.operator_id, field: "operator_id"),
            workOrder: try decodeString(e.work_order, field: "work_order"),
            body: try body(of: e))
    }

    /// The event in stored bytes (`events.raw`), or nil when they do not decode (the store keeps
    /// only bytes that decoded once): what the store is given to read its own events.
    @Sendable public static func stored(_ raw: [UInt8]) -> Event? {
        raw.withUnsafeBytes { try? decode($0) }
    }

    /// The `event_id` of an event `decode` refused, for its REJECTED Ack: read from the wire (the
    /// last field 1), or "" when there is none, or it is not UTF-8 or holds a NUL (which protobuf-c
    /// could not write back whole).
    public static func eventID(_ bytes: UnsafeRawBufferPointer) -> String {
        var id: String?
        var i = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while i < bytes.count, shift < 64 {
                let byte = bytes[i]
                i += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        while i < bytes.count, let tag = varint() {
            switch tag & 7 {
            case 0: guard varint() != nil else { return "" }
            case 1, 5:
                let size = tag & 7 == 1 ? 8 : 4
                guard bytes.count - i >= size else { return "" }
                i += size
            case 2:
                guard let length = varint(), length <= UInt64(bytes.count - i) else { return "" }
                let value = UnsafeRawBufferPointer(rebasing: bytes[i..<(i + Int(length))])
                i += Int(length)
                if tag >> 3 == 1 { id = value.contains(0) ? nil : String(validating: value, as: UTF8.self) }
            default: return ""
            }
        }
        return i == bytes.count ? id ?? "" : ""
    }

    private static func body(of e: Mes__V1__Event) throws(MessageDecodingError) -> EventBody? {
        switch e.body_case {
        case MES__V1__EVENT__BODY_RECEIVED:
            let b = e.received.pointee
            return .received(
                MaterialReceived(
                    lot: try lotRef(b.lot, "received.lot"), qty: try quantity(b.qty, "received.qty"),
                    supplier: try decodeString(b.supplier, field: "received.supplier"),
                    supplierLot: try decodeString(b.supplier_lot, field: "received.supplier_lot"),
                    purchaseOrder: try decodeString(b.purchase_order, field: "received.purchase_order"),
                    location: try decodeString(b.location, field: "received.location")))
        case MES__V1__EVENT__BODY_CONSUMED:
            let b = e.consumed.pointee
            return .consumed(
                MaterialConsumed(
                    component: try lotRef(b.component, "consumed.component"),
                    qty: try quantity(b.qty, "consumed.qty"),
                    into: b.into == nil ? nil : try lotRef(b.into, "consumed.into")))
        case MES__V1__EVENT__BODY_PRODUCED:
            let b = e.produced.pointee
            return .produced(
                ProductionReported(
                    output: try lotRef(b.output, "produced.output"), good: try quantity(b.good, "produced.good"),
                    scrap: try quantity(b.scrap, "produced.scrap"),
                    location: try decodeString(b.location, field: "produced.location")))
        case MES__V1__EVENT__BODY_OPERATION:
            let b = e.operation.pointee
            return .operation(
                OperationReported(
                    operation: try decodeString(b.operation, field: "operation.operation"),
                    state: try enumValue(b.state.rawValue, "operation.state"),
                    good: try quantity(b.good, "operation.good"), scrap: try quantity(b.scrap, "operation.scrap")))
        case MES__V1__EVENT__BODY_DOWNTIME:
            let b = e.downtime.pointee
            return .downtime(
                DowntimeReported(
                    reason: try decodeString(b.reason, field: "downtime.reason"),
                    loss: try enumValue(b.loss.rawValue, "downtime.loss"),
                    startedAtMs: b.started_at_ms, endedAtMs: b.ended_at_ms))
        case MES__V1__EVENT__BODY_QUALITY:
            return .quality(try quality(e.quality.pointee))
        case MES__V1__EVENT__BODY_SHIPPED:
            let b = e.shipped.pointee
            return .shipped(
                Shipped(
                    lot: try lotRef(b.lot, "shipped.lot"), qty: try quantity(b.qty, "shipped.qty"),
                    customer: try decodeString(b.customer, field: "shipped.customer"),
                    delivery: try decodeString(b.delivery, field: "shipped.delivery"),
                    destination: try decodeString(b.destination, field: "shipped.destination")))
        case MES__V1__EVENT__BODY_SCRAPPED:
            let b = e.scrapped.pointee
            return .scrapped(
                Scrapped(
                    lot: try lotRef(b.lot, "scrapped.lot"), qty: try quantity(b.qty, "scrapped.qty"),
                    reason: try decodeString(b.reason, field: "scrapped.reason")))
        case MES__V1__EVENT__BODY_PACKED:
            let b = e.packed.pointee
            var contents: [LotRef] = []
            contents.reserveCapacity(b.n_contents)
            for i in 0..<b.n_contents { contents.append(try lotRef(b.contents[i], "packed.contents[\(i)]")) }
            return .packed(
                Packed(
                    container: try lotRef(b.container, "packed.container"), contents: contents,
                    action: try enumValue(b.action.rawValue, "packed.action")))
        case MES__V1__EVENT__BODY_MOVED:
            let b = e.moved.pointee
            return .moved(
                Moved(
                    lot: try lotRef(b.lot, "moved.lot"), qty: try quantity(b.qty, "moved.qty"),
                    fromLocation: try decodeString(b.from_location, field: "moved.from_location"),
                    toLocation: try decodeString(b.to_location, field: "moved.to_location"),
                    newLot: b.new_lot == nil ? nil : try lotRef(b.new_lot, "moved.new_lot")))
        default:
            return nil
        }
    }

    private static func quality(_ b: Mes__V1__QualityResult) throws(MessageDecodingError) -> QualityResult {
        var measurements: [QualityResult.Measurement] = []
        measurements.reserveCapacity(b.n_measurements)
        for i in 0..<b.n_measurements {
            guard let m = b.measurements[i]?.pointee else { continue }
            measurements.append(
                .init(
                    name: try decodeString(m.name, field: "quality.measurements[\(i)].name"), value: m.value,
                    unit: try decodeString(m.unit, field: "quality.measurements[\(i)].unit"),
                    lower: m.lower, upper: m.upper))
        }
        return QualityResult(
            lot: try lotRef(b.lot, "quality.lot"), check: try decodeString(b.check, field: "quality.check"),
            outcome: try enumValue(b.outcome.rawValue, "quality.outcome"), measurements: measurements)
    }
}

/// A LotRef sub-message; an absent one reads as empty (validation names it).
func lotRef(_ pointer: UnsafeMutablePointer<Mes__V1__LotRef>?, _ field: String) throws(MessageDecodingError) -> LotRef {
    guard let r = pointer?.pointee else { return LotRef() }
    return LotRef(
        product: try decodeString(r.product, field: "\(field).product"),
        lot: try decodeString(r.lot, field: "\(field).lot"),
        serial: try decodeString(r.serial, field: "\(field).serial"),
        container: try decodeString(r.container, field: "\(field).container"))
}

/// A Quantity sub-message, or nil when absent.
func quantity(_ pointer: UnsafeMutablePointer<Mes__V1__Quantity>?, _ field: String) throws(MessageDecodingError)
    -> Quantity?
{
    guard let q = pointer?.pointee else { return nil }
    return Quantity(value: q.value, uom: try decodeString(q.uom, field: "\(field).uom"))
}

/// Proto3 enums are open: a number this build does not know is refused, naming the field.
func enumValue<E: RawRepresentable>(_ raw: UInt32, _ field: String) throws(MessageDecodingError) -> E
where E.RawValue == Int32 {
    guard let value = E(rawValue: Int32(bitPattern: raw)) else {
        throw MessageDecodingError(field: field, reason: "has an unknown enum value \(Int32(bitPattern: raw))")
    }
    return value
}
