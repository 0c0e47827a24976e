import CProtobufC
import MESDomain
import MESProtoC

/// `mes.v1.TraceRequest` → `TraceRequest`, `TraceResult` ↔ `mes.v1.TraceResult`, with protobuf-c.
public enum TraceCodec {
    public static func decodeRequest(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> TraceRequest {
        guard
            let message = mes__v1__trace_request__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.TraceRequest") }
        defer { mes__v1__trace_request__free_unpacked(message, nil) }
        let r = message.pointee
        return TraceRequest(
            lot: try lotRef(r.lot, "lot"), direction: try enumValue(r.direction.rawValue, "direction"),
            maxDepth: Int(r.max_depth), maxNodes: Int(r.max_nodes))
    }

    public static func encodeRequest(_ request: TraceRequest) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__TraceRequest()
        mes__v1__trace_request__init(&message)
        message.lot = arena.lotRef(request.lot)
        message.direction = Mes__V1__Direction(rawValue: UInt32(request.direction.rawValue))
        message.max_depth = UInt32(clamping: request.maxDepth)
        message.max_nodes = UInt32(clamping: request.maxNodes)
        return pack(&message.base)
    }

    public static func encode(_ result: TraceResult) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__TraceResult()
        mes__v1__trace_result__init(&message)
        message.truncated = result.truncated ? 1 : 0

        var node = Mes__V1__TraceNode()
        mes__v1__trace_node__init(&node)
        let nodes = arena.array(result.nodes.count, node)
        let nodePointers = arena.array(result.nodes.count, Optional(nodes))
        for (i, n) in result.nodes.enumerated() {
            nodes[i].lot = n.ref.lot.map { arena.lotRef($0) }
            nodes[i].work_order = arena.string(n.ref.workOrder)
            nodes[i].depth = UInt32(clamping: n.depth)
            nodes[i].status = arena.string(n.status)
            nodePointers[i] = nodes + i
        }
        message.n_nodes = result.nodes.count
        message.nodes = nodePointers

        var edge = Mes__V1__TraceEdge()
        mes__v1__trace_edge__init(&edge)
        let edges = arena.array(result.edges.count, edge)
        let edgePointers = arena.array(result.edges.count, Optional(edges))
        for (i, e) in result.edges.enumerated() {
            edges[i].from = nodeRef(e.from, arena)
            edges[i].to = nodeRef(e.to, arena)
            edges[i].qty = arena.quantity(e.qty)
            edges[i].work_order = arena.string(e.workOrder)
            edgePointers[i] = edges + i
        }
        message.n_edges = result.edges.count
        message.edges = edgePointers

        var receipt = Mes__V1__TraceReceipt()
        mes__v1__trace_receipt__init(&receipt)
        let receipts = arena.array(result.receipts.count, receipt)
        let receiptPointers = arena.array(result.receipts.count, Optional(receipts))
        for (i, r) in result.receipts.enumerated() {
            receipts[i].lot = arena.lotRef(r.lot)
            receipts[i].supplier = arena.string(r.supplier)
            receipts[i].supplier_lot = arena.string(r.supplierLot)
            receipts[i].purchase_order = arena.string(r.purchaseOrder)
            receipts[i].qty = arena.quantity(r.qty)
            receiptPointers[i] = receipts + i
        }
        message.n_receipts = result.receipts.count
        message.receipts = receiptPointers

        var shipment = Mes__V1__TraceShipment()
        mes__v1__trace_shipment__init(&shipment)
        let shipments = arena.array(result.shipments.count, shipment)
        let shipmentPointers = arena.array(result.shipments.count, Optional(shipments))
        for (i, s) in result.shipments.enumerated() {
            shipments[i].lot = arena.lotRef(s.lot)
            shipments[i].customer = arena.string(s.customer)
            shipments[i].delivery = arena.string(s.delivery)
            shipments[i].qty = arena.quantity(s.qty)
            shipmentPointers[i] = shipments + i
        }
        message.n_shipments = result.shipments.count
        message.shipments = shipmentPointers
        return pack(&message.base)
    }

    private static func nodeRef(_ ref: TraceNodeRef, _ arena: CArena) -> UnsafeMutablePointer<Mes__V1__TraceNodeRef> {
        var message = Mes__V1__TraceNodeRef()
        mes__v1__trace_node_ref__init(&message)
        message.lot = ref.lot.map { arena.lotRef($0) }
        message.work_order = arena.string(ref.workOrder)
        return arena.array(1, message)
    }

    /// Decodes `mes.v1.TraceResult` (for `mesgate trace --server` and tests). Edge kinds are not
    /// on the wire: they read as "".
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> TraceResult {
        guard
            let message = mes__v1__trace_result__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.TraceResult") }
        defer { mes__v1__trace_result__free_unpacked(message, nil) }
        let m = message.pointee
        var result = TraceResult(truncated: m.truncated != 0)
        for i in 0..<m.n_nodes {
            guard let n = m.nodes[i]?.pointee else { continue }
            result.nodes.append(
                TraceNode(
                    ref: TraceNodeRef(
                        lot: n.lot == nil ? nil : try lotRef(n.lot, "nodes.lot"),
                        workOrder: try decodeString(n.work_order, field: "nodes.work_order")),
                    depth: Int(n.depth), status: try decodeString(n.status, field: "nodes.status")))
        }
        for i in 0..<m.n_edges {
            guard let e = m.edges[i]?.pointee else { continue }
            result.edges.append(
                TraceEdge(
                    from: try decodeNodeRef(e.from), to: try decodeNodeRef(e.to), kind: "",
                    qty: try quantity(e.qty, "edges.qty"),
                    workOrder: try decodeString(e.work_order, field: "edges.work_order")))
        }
        for i in 0..<m.n_receipts {
            guard let r = m.receipts[i]?.pointee else { continue }
            result.receipts.append(
                TraceReceipt(
                    lot: try lotRef(r.lot, "receipts.lot"),
                    supplier: try decodeString(r.supplier, field: "receipts.supplier"),
                    supplierLot: try decodeString(r.supplier_lot, field: "receipts.supplier_lot"),
                    purchaseOrder: try decodeString(r.purchase_order, field: "receipts.purchase_order"),
                    qty: try quantity(r.qty, "receipts.qty")))
        }
        for i in 0..<m.n_shipments {
            guard let s = m.shipments[i]?.pointee else { continue }
            result.shipments.append(
                TraceShipment(
                    lot: try lotRef(s.lot, "shipments.lot"),
                    customer: try decodeString(s.customer, field: "shipments.customer"),
                    delivery: try decodeString(s.delivery, field: "shipments.delivery"),
                    qty: try quantity(s.qty, "shipments.qty")))
        }
        return result
    }

    private static func decodeNodeRef(_ pointer: UnsafeMutablePointer<Mes__V1__TraceNodeRef>?)
        throws(MessageDecodingError) -> TraceNodeRef
    {
        guard let r = pointer?.pointee else { return TraceNodeRef(lot: nil) }
        return TraceNodeRef(
            lot: r.lot == nil ? nil : try lotRef(r.lot, "edges.lot"),
            workOrder: try decodeString(r.work_order, field: "edges.work_order"))
    }
}
