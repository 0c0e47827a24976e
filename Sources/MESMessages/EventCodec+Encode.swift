import CProtobufC
import MESDomain
import MESProtoC

extension EventCodec {
    /// Encodes a domain `Event` as `mes.v1.Event` (what the store keeps as `raw` for events that
    /// did not arrive as protobuf, such as imported EPCIS events).
    public static func encode(_ event: Event) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__Event()
        mes__v1__event__init(&message)
        message.event_id = arena.string(event.eventID)
        message.occurred_at_ms = event.occurredAtMs
        message.tz_offset = arena.string(event.tzOffset)
        message.plant = arena.string(event.plant)
        message.work_center = arena.string(event.workCenter)
        message.operator_id = arena.string(event.operatorID)
        message.work_order = arena.string(event.workOrder)
        switch event.body {
        case .received(let b):
            var m = Mes__V1__MaterialReceived()
            mes__v1__material_received__init(&m)
            m.lot = arena.lotRef(b.lot)
            m.qty = arena.quantity(b.qty)
            m.supplier = arena.string(b.supplier)
            m.supplier_lot = arena.string(b.supplierLot)
            m.purchase_order = arena.string(b.purchaseOrder)
            m.location = arena.string(b.location)
            message.body_case = MES__V1__EVENT__BODY_RECEIVED
            message.received = arena.array(1, m)
        case .consumed(let b):
            var m = Mes__V1__MaterialConsumed()
            mes__v1__material_consumed__init(&m)
            m.component = arena.lotRef(b.component)
            m.qty = arena.quantity(b.qty)
            m.into = b.into.map { arena.lotRef($0) }
            message.body_case = MES__V1__EVENT__BODY_CONSUMED
            message.consumed = arena.array(1, m)
        case .produced(let b):
            var m = Mes__V1__ProductionReported()
            mes__v1__production_reported__init(&m)
            m.output = arena.lotRef(b.output)
            m.good = arena.quantity(b.good)
            m.scrap = arena.quantity(b.scrap)
            m.location = arena.string(b.location)
            message.body_case = MES__V1__EVENT__BODY_PRODUCED
            message.produced = arena.array(1, m)
        case .operation(let b):
            var m = Mes__V1__OperationReported()
            mes__v1__operation_reported__init(&m)
            m.operation = arena.string(b.operation)
            m.state = Mes__V1__OperationReported__State(rawValue: UInt32(bitPattern: b.state.rawValue))
            m.good = arena.quantity(b.good)
            m.scrap = arena.quantity(b.scrap)
            message.body_case = MES__V1__EVENT__BODY_OPERATION
            message.operation = arena.array(1, m)
        case .downtime(let b):
            var m = Mes__V1__DowntimeReported()
            mes__v1__downtime_reported__init(&m)
            m.reason = arena.string(b.reason)
            m.loss = Mes__V1__DowntimeReported__Loss(rawValue: UInt32(bitPattern: b.loss.rawValue))
            m.started_at_ms = b.startedAtMs
            m.ended_at_ms = b.endedAtMs
            message.body_case = MES__V1__EVENT__BODY_DOWNTIME
            message.downtime = arena.array(1, m)
        case .quality(let b):
            var m = Mes__V1__QualityResult()
            mes__v1__quality_result__init(&m)
            m.lot = arena.lotRef(b.lot)
            m.check = arena.string(b.check)
            m.outcome = Mes__V1__QualityResult__Outcome(rawValue: UInt32(bitPattern: b.outcome.rawValue))
            var item = Mes__V1__QualityResult__Measurement()
            mes__v1__quality_result__measurement__init(&item)
            m.n_measurements = b.measurements.count
            m.measurements = arena.messages(b.measurements, item) { item, measurement in
                item.name = arena.string(measurement.name)
                item.value = measurement.value
                item.unit = arena.string(measurement.unit)
                item.lower = measurement.lower
                item.upper = measurement.upper
            }
            message.body_case = MES__V1__EVENT__BODY_QUALITY
            message.quality = arena.array(1, m)
        case .shipped(let b):
            var m = Mes__V1__Shipped()
            mes__v1__shipped__init(&m)
            m.lot = arena.lotRef(b.lot)
            m.qty = arena.quantity(b.qty)
            m.customer = arena.string(b.customer)
            m.delivery = arena.string(b.delivery)
            m.destination = arena.string(b.destination)
            message.body_case = MES__V1__EVENT__BODY_SHIPPED
            message.shipped = arena.array(1, m)
        case .scrapped(let b):
            var m = Mes__V1__Scrapped()
            mes__v1__scrapped__init(&m)
            m.lot = arena.lotRef(b.lot)
            m.qty = arena.quantity(b.qty)
            m.reason = arena.string(b.reason)
            message.body_case = MES__V1__EVENT__BODY_SCRAPPED
            message.scrapped = arena.array(1, m)
        case .packed(let b):
            var m = Mes__V1__Packed()
            mes__v1__packed__init(&m)
            m.container = arena.lotRef(b.container)
            let refs = arena.array(b.contents.count, UnsafeMutablePointer<Mes__V1__LotRef>?.none)
            for (i, ref) in b.contents.enumerated() { refs[i] = arena.lotRef(ref) }
            m.n_contents = b.contents.count
            m.contents = refs
            m.action = Mes__V1__Packed__Action(rawValue: UInt32(bitPattern: b.action.rawValue))
            message.body_case = MES__V1__EVENT__BODY_PACKED
            message.packed = arena.array(1, m)
        case .moved(let b):
            var m = Mes__V1__Moved()
            mes__v1__moved__init(&m)
            m.lot = arena.lotRef(b.lot)
            m.qty = arena.quantity(b.qty)
            m.from_location = arena.string(b.fromLocation)
            m.to_location = arena.string(b.toLocation)
            m.new_lot = b.newLot.map { arena.lotRef($0) }
            message.body_case = MES__V1__EVENT__BODY_MOVED
            message.moved = arena.array(1, m)
        case nil:
            break
        }
        return pack(&message.base)
    }
}
