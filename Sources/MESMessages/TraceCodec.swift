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
        try RequestFieldCheck.check(bytes, message.pointee.base.descriptor)
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

        // Each node's reference once; edges from the store point at them (`nodePositions`)
        // instead of copying both ends' strings again for every edge.
        var ref = Mes__V1__TraceNodeRef()
        mes__v1__trace_node_ref__init(&ref)
        let refs = arena.array(result.nodes.count, ref)
        for (i, n) in result.nodes.enumerated() {
            refs[i].lot = n.ref.lot.map { arena.lotRef($0) }
            refs[i].work_order = arena.string(n.ref.workOrder)
        }
        var node = Mes__V1__TraceNode()
        mes__v1__trace_node__init(&node)
        message.n_nodes = result.nodes.count
        message.nodes = arena.messages(result.nodes.indices, node) { node, i in
            node.lot = refs[i].lot
            node.work_order = refs[i].work_order
            node.depth = UInt32(clamping: result.nodes[i].depth)
            node.status = arena.string(result.nodes[i].status)
            node.plant = arena.string(result.nodes[i].plant)
        }

        var edge = Mes__V1__TraceEdge()
        mes__v1__trace_edge__init(&edge)
        message.n_edges = result.edges.count
        message.edges = arena.messages(result.edges, edge) { edge, e in
            if let (from, to) = e.nodePositions, result.nodes.indices.contains(from), result.nodes.indices.contains(to)
            {
                edge.from = refs + from
                edge.to = refs + to
            } else {
                edge.from = nodeRef(e.from, arena)
                edge.to = nodeRef(e.to, arena)
            }
            edge.qty = arena.quantity(e.qty)
            edge.work_order = arena.string(e.workOrder)
            edge.plant = arena.string(e.plant)
        }

        var receipt = Mes__V1__TraceReceipt()
        mes__v1__trace_receipt__init(&receipt)
        message.n_receipts = result.receipts.count
        message.receipts = arena.messages(result.receipts, receipt) { receipt, r in
            receipt.lot = arena.lotRef(r.lot)
            receipt.supplier = arena.string(r.supplier)
            receipt.supplier_lot = arena.string(r.supplierLot)
            receipt.purchase_order = arena.string(r.purchaseOrder)
            receipt.qty = arena.quantity(r.qty)
            receipt.plant = arena.string(r.plant)
        }

        message.n_shipments = result.shipments.count
        message.shipments = arena.traceShipments(result.shipments)
        return pack(&message.base)
    }

    /// The `mes.v1.TraceShipment` messages of a repeated field (`Trace`'s shipments, a hold's
    /// shipped items): one TraceShipment per element.
    static func shipments(
        _ list: UnsafeMutablePointer<UnsafeMutablePointer<Mes__V1__TraceShipment>?>?, count: Int, field: String
    ) throws(MessageDecodingError) -> [TraceShipment] {
        var found: [TraceShipment] = []
        for i in 0..<count {
            guard let s = list?[i]?.pointee else { continue }
            found.append(
                TraceShipment(
                    lot: try lotRef(s.lot, "\(field).lot"),
                    customer: try decodeString(s.customer, field: "\(field).customer"),
                    delivery: try decodeString(s.delivery, field: "\(field).delivery"),
                    qty: try quantity(s.qty, "\(field).qty"),
                    plant: try decodeString(s.plant, field: "\(field).plant")))
        }
        return found
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
                    depth: Int(n.depth), status: try decodeString(n.status, field: "nodes.status"),
                    plant: try decodeString(n.plant, field: "nodes.plant")))
        }
        for i in 0..<m.n_edges {
            guard let e = m.edges[i]?.pointee else { continue }
            result.edges.append(
                TraceEdge(
                    from: try decodeNodeRef(e.from), to: try decodeNodeRef(e.to), kind: "",
                    qty: try quantity(e.qty, "edges.qty"),
                    workOrder: try decodeString(e.work_order, field: "edges.work_order"),
                    plant: try decodeString(e.plant, field: "edges.plant")))
        }
        for i in 0..<m.n_receipts {
            guard let r = m.receipts[i]?.pointee else { continue }
            result.receipts.append(
                TraceReceipt(
                    lot: try lotRef(r.lot, "receipts.lot"),
                    supplier: try decodeString(r.supplier, field: "receipts.supplier"),
                    supplierLot: try decodeString(r.supplier_lot, field: "receipts.supplier_lot"),
                    purchaseOrder: try decodeString(r.purchase_order, field: "receipts.purchase_order"),
                    qty: try quantity(r.qty, "receipts.qty"), plant: try decodeString(r.plant, field: "receipts.plant"))
            )
        }
        result.shipments = try shipments(m.shipments, count: m.n_shipments, field: "shipments")
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
