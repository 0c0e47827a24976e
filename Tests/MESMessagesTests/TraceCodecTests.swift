import MESDomain
import MESMessages
import Testing

/// `TraceCodec.encode` writes each node's reference once and points edges that know their nodes'
/// positions at it: the bytes must be those of an edge that carries its own copy of both ends.
@Suite struct TraceCodecTests {
    static let resin = TraceNodeRef(lot: LotRef(product: "RESIN", lot: "R-1"))
    static let order = TraceNodeRef(lot: nil, workOrder: "WO-7")
    static let part = TraceNodeRef(lot: LotRef(product: "PART", lot: "L-9", serial: "S-3"))
    static let pallet = TraceNodeRef(lot: LotRef(container: "SSCC-1"))

    static func result(withPositions: Bool) -> TraceResult {
        let nodes = [
            TraceNode(ref: resin, depth: 0, status: "hold"), TraceNode(ref: order, depth: 1, status: "order"),
            TraceNode(ref: part, depth: 2, status: "shipped"), TraceNode(ref: pallet, depth: 3, status: "shipped"),
        ]
        let ends = [(0, 1, "order_input"), (1, 2, "order_output"), (2, 3, "containment"), (0, 2, "direct")]
        let edges = ends.map { from, to, kind in
            TraceEdge(
                from: nodes[from].ref, to: nodes[to].ref, kind: kind, qty: Quantity(value: 2.5, uom: "kg"),
                workOrder: kind == "containment" ? "" : "WO-7", nodePositions: withPositions ? (from, to) : nil)
        }
        return TraceResult(
            nodes: nodes, edges: edges,
            shipments: [TraceShipment(lot: pallet.lot!, customer: "ACME", delivery: "D-1", qty: nil)])
    }

    @Test func edgesPointingAtTheirNodesEncodeTheSameBytes() throws {
        let shared = TraceCodec.encode(Self.result(withPositions: true))
        let copied = TraceCodec.encode(Self.result(withPositions: false))
        #expect(shared == copied)
        let decoded = try shared.withUnsafeBytes { bytes throws(MessageDecodingError) in try TraceCodec.decode(bytes) }
        #expect(decoded.nodes == Self.result(withPositions: true).nodes)
        #expect(decoded.edges.map(\.from) == [Self.resin, Self.order, Self.part, Self.resin])
        #expect(decoded.edges.map(\.to) == [Self.order, Self.part, Self.pallet, Self.part])
        #expect(decoded.shipments.map(\.customer) == ["ACME"])
    }

    @Test func positionsOutsideTheNodesFallBackToTheEdgesOwnEnds() throws {
        var result = Self.result(withPositions: true)
        result.edges[0].nodePositions = (0, 99)
        let bytes = TraceCodec.encode(result)
        let decoded = try bytes.withUnsafeBytes { bytes throws(MessageDecodingError) in try TraceCodec.decode(bytes) }
        #expect(decoded.edges[0].from == Self.resin)
        #expect(decoded.edges[0].to == Self.order)
    }

    /// Plants (genealogy/MODEL.md, "Many plants") go over the wire and back; none adds no bytes.
    @Test func plantsRoundTripAndAnEmptyPlantAddsNoBytes() throws {
        var result = Self.result(withPositions: true)
        let without = TraceCodec.encode(result)
        for i in result.nodes.indices { result.nodes[i].plant = i < 2 ? "PLANT-A" : "PLANT-B" }
        for i in result.edges.indices { result.edges[i].plant = "PLANT-A" }
        result.shipments[0].plant = "PLANT-B"
        result.receipts = [
            TraceReceipt(
                lot: Self.resin.lot!, supplier: "ACME", supplierLot: "", purchaseOrder: "", qty: nil, plant: "PLANT-A")
        ]
        let bytes = TraceCodec.encode(result)
        let decoded = try bytes.withUnsafeBytes { bytes throws(MessageDecodingError) in try TraceCodec.decode(bytes) }
        #expect(decoded.nodes.map(\.plant) == ["PLANT-A", "PLANT-A", "PLANT-B", "PLANT-B"])
        #expect(decoded.edges.allSatisfy { $0.plant == "PLANT-A" })
        #expect(decoded.receipts.map(\.plant) == ["PLANT-A"] && decoded.shipments.map(\.plant) == ["PLANT-B"])
        let plain = try without.withUnsafeBytes { bytes throws(MessageDecodingError) in try TraceCodec.decode(bytes) }
        #expect(plain.nodes.allSatisfy { $0.plant.isEmpty } && plain.edges.allSatisfy { $0.plant.isEmpty })
        #expect(TraceCodec.encode(plain) == without)
    }

    /// A history entry's plant is field 5, before the raw event (field 4); none adds no bytes.
    @Test func aHistoryEntryCarriesItsPlant() {
        let raw: [UInt8] = [0x0A, 0x02, 0x65, 0x31]
        let plain = HistoryCodec.encodeEntry(sequence: 7, recordedAtMs: 1, client: "c", rawEvent: raw)
        #expect(HistoryCodec.encodeEntry(sequence: 7, recordedAtMs: 1, client: "c", plant: "", rawEvent: raw) == plain)
        let named = HistoryCodec.encodeEntry(sequence: 7, recordedAtMs: 1, client: "c", plant: "PLANT-A", rawEvent: raw)
        let field5: [UInt8] = [0x2A, 7] + Array("PLANT-A".utf8)
        #expect(named.count == plain.count + field5.count)
        #expect(named.starts(with: plain.prefix(plain.count - raw.count - 2) + field5))
        #expect(Array(named.suffix(raw.count + 2)) == [0x22, UInt8(raw.count)] + raw)
    }
}
