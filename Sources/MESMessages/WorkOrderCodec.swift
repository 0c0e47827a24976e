import CProtobufC
public import MESDomain
import MESProtoC

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `mes.v1.WorkOrders` messages: the filter in, work orders out. Nested C messages are allocated
/// here, packed and freed within one call.
public enum WorkOrderCodec {
    /// (plant, work_center, product) of a `WorkOrderFilter`.
    public static func decodeFilter(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> (
        plant: String, workCenter: String, product: String
    ) {
        guard
            let message = mes__v1__work_order_filter__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.WorkOrderFilter") }
        defer { mes__v1__work_order_filter__free_unpacked(message, nil) }
        try RequestFieldCheck.check(bytes, message.pointee.base.descriptor)
        let f = message.pointee
        return (
            try decodeString(f.plant, field: "plant"), try decodeString(f.work_center, field: "work_center"),
            try decodeString(f.product, field: "product")
        )
    }

    /// One `WorkOrder`.
    public static func encode(_ order: WorkOrder) -> [UInt8] {
        withMessage(order) { pack(&$0.pointee.base) }
    }

    /// A `WorkOrderList`: field 1 repeated, each a length-delimited `WorkOrder`.
    public static func encodeList(_ orders: [WorkOrder]) -> [UInt8] {
        var bytes: [UInt8] = []
        for order in orders {
            let item = encode(order)
            bytes.append(0x0A)  // field 1, wire type 2
            var length = UInt64(item.count)
            repeat {
                let low = UInt8(length & 0x7F)
                length >>= 7
                bytes.append(length == 0 ? low : low | 0x80)
            } while length != 0
            bytes += item
        }
        return bytes
    }

    /// Builds the C message on the heap (strings `strdup`ed), runs `body`, frees everything.
    private static func withMessage<R>(_ order: WorkOrder, _ body: (UnsafeMutablePointer<Mes__V1__WorkOrder>) -> R) -> R
    {
        var strings: [UnsafeMutablePointer<CChar>?] = []
        func c(_ s: String) -> UnsafeMutablePointer<CChar>? {
            let p = strdup(s)
            strings.append(p)
            return p
        }
        let message = UnsafeMutablePointer<Mes__V1__WorkOrder>.allocate(capacity: 1)
        mes__v1__work_order__init(message)
        let components = UnsafeMutablePointer<UnsafeMutablePointer<Mes__V1__WorkOrder__Component>?>.allocate(
            capacity: max(1, order.components.count))
        let operations = UnsafeMutablePointer<UnsafeMutablePointer<Mes__V1__WorkOrder__Operation>?>.allocate(
            capacity: max(1, order.operations.count))
        defer {
            for i in 0..<order.components.count { components[i]?.deallocate() }
            for i in 0..<order.operations.count { operations[i]?.deallocate() }
            components.deallocate()
            operations.deallocate()
            message.deallocate()
            strings.forEach { free($0) }
        }
        for (i, component) in order.components.enumerated() {
            let m = UnsafeMutablePointer<Mes__V1__WorkOrder__Component>.allocate(capacity: 1)
            mes__v1__work_order__component__init(m)
            m.pointee.product = c(component.product)
            m.pointee.qty = component.qty
            m.pointee.tracking = Mes__V1__WorkOrder__Tracking(rawValue: UInt32(component.tracking.rawValue))
            components[i] = m
        }
        for (i, operation) in order.operations.enumerated() {
            let m = UnsafeMutablePointer<Mes__V1__WorkOrder__Operation>.allocate(capacity: 1)
            mes__v1__work_order__operation__init(m)
            m.pointee.sequence = operation.sequence
            m.pointee.name = c(operation.name)
            m.pointee.work_center = c(operation.workCenter)
            m.pointee.expected_minutes = operation.expectedMinutes
            operations[i] = m
        }
        message.pointee.id = c(order.id)
        message.pointee.odoo_id = order.odooID
        message.pointee.product = c(order.product)
        message.pointee.qty = order.qty
        message.pointee.state = c(order.state)
        message.pointee.scheduled_start_ms = order.scheduledStartMs
        message.pointee.output_tracking = Mes__V1__WorkOrder__Tracking(rawValue: UInt32(order.outputTracking.rawValue))
        message.pointee.n_components = order.components.count
        message.pointee.components = components
        message.pointee.n_operations = order.operations.count
        message.pointee.operations = operations
        message.pointee.revision = order.revision
        message.pointee.bom = c(order.bom)
        message.pointee.bom_revision = order.bomRevision
        return body(message)
    }
}
