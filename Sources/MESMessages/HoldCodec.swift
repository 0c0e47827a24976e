import CProtobufC
import MESDomain
import MESProtoC

/// `mes.v1.HoldRequest` → `HoldRequest` and `[LotRef]` → `mes.v1.HoldResult`, with protobuf-c.
public enum HoldCodec {
    public static func decodeRequest(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> HoldRequest {
        guard
            let message = mes__v1__hold_request__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.HoldRequest") }
        defer { mes__v1__hold_request__free_unpacked(message, nil) }
        try RequestFieldCheck.check(bytes, message.pointee.base.descriptor)
        let r = message.pointee
        // proto2 `optional bool propagate = 3 [default = true]`: protobuf-c fills the default.
        return HoldRequest(
            lot: try lotRef(r.lot, "lot"), reason: try decodeString(r.reason, field: "reason"),
            propagate: r.propagate != 0)
    }

    /// Encodes `mes.v1.HoldRequest` (the CLI, and holds replicated between plants and the hub).
    public static func encodeRequest(_ request: HoldRequest) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__HoldRequest()
        mes__v1__hold_request__init(&message)
        message.lot = arena.lotRef(request.lot)
        message.reason = arena.string(request.reason)
        message.has_propagate = 1
        message.propagate = request.propagate ? 1 : 0
        return pack(&message.base)
    }

    public static func encodeResult(
        _ held: [LotRef], plants: [PlantHoldState] = [], followUp: HoldFollowUp = HoldFollowUp()
    ) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__HoldResult()
        mes__v1__hold_result__init(&message)
        message.n_held = held.count
        message.held = arena.lotRefs(held)
        var plant = Mes__V1__PlantHold()
        mes__v1__plant_hold__init(&plant)
        message.n_plants = plants.count
        message.plants = arena.messages(plants, plant) { out, state in
            out.plant = arena.string(state.plant)
            out.has_lots = 1
            out.lots = Int32(clamping: state.lots)
            out.has_applied = 1
            out.applied = state.applied ? 1 : 0
        }
        message.n_shipped = followUp.shipped.count
        message.shipped = arena.traceShipments(followUp.shipped)
        message.n_still_held = followUp.stillHeld.count
        message.still_held = arena.lotRefs(followUp.stillHeld)
        return pack(&message.base)
    }

    /// A decoded `mes.v1.HoldResult`.
    public struct Answer: Sendable, Hashable {
        public var held: [LotRef] = []
        public var plants: [PlantHoldState] = []
        public var followUp = HoldFollowUp()

        public init(held: [LotRef] = [], plants: [PlantHoldState] = [], followUp: HoldFollowUp = HoldFollowUp()) {
            self.held = held
            self.plants = plants
            self.followUp = followUp
        }
    }

    /// Decodes `mes.v1.HoldResult` in full (for the CLI and tests).
    public static func decodeAnswer(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> Answer {
        guard
            let message = mes__v1__hold_result__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.HoldResult") }
        defer { mes__v1__hold_result__free_unpacked(message, nil) }
        let m = message.pointee
        var answer = Answer()
        for i in 0..<m.n_held { answer.held.append(try lotRef(m.held[i], "held[\(i)]")) }
        for i in 0..<m.n_plants {
            guard let p = m.plants[i]?.pointee else { continue }
            answer.plants.append(
                PlantHoldState(
                    plant: try decodeString(p.plant, field: "plants.plant"), lots: Int(p.lots), applied: p.applied != 0)
            )
        }
        answer.followUp.shipped = try TraceCodec.shipments(m.shipped, count: m.n_shipped, field: "shipped")
        for i in 0..<m.n_still_held {
            answer.followUp.stillHeld.append(try lotRef(m.still_held[i], "still_held[\(i)]"))
        }
        return answer
    }

    /// Decodes the held items of a `mes.v1.HoldResult`.
    public static func decodeResult(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> [LotRef] {
        try decodeAnswer(bytes).held
    }
}
