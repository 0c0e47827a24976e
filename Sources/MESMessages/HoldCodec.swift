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

    public static func encodeResult(_ held: [LotRef], plants: [PlantHoldState] = []) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__HoldResult()
        mes__v1__hold_result__init(&message)
        let refs = arena.array(held.count, UnsafeMutablePointer<Mes__V1__LotRef>?.none)
        for (i, ref) in held.enumerated() { refs[i] = arena.lotRef(ref) }
        message.n_held = held.count
        message.held = refs
        let states = arena.array(plants.count, UnsafeMutablePointer<Mes__V1__PlantHold>?.none)
        for (i, plant) in plants.enumerated() {
            let state = arena.array(1, Mes__V1__PlantHold())
            mes__v1__plant_hold__init(state)
            state.pointee.plant = arena.string(plant.plant)
            state.pointee.has_lots = 1
            state.pointee.lots = Int32(clamping: plant.lots)
            state.pointee.has_applied = 1
            state.pointee.applied = plant.applied ? 1 : 0
            states[i] = state
        }
        message.n_plants = plants.count
        message.plants = states
        return pack(&message.base)
    }

    /// Decodes `mes.v1.HoldResult` (for tests and the CLI).
    public static func decodeResult(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> [LotRef] {
        guard
            let message = mes__v1__hold_result__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.HoldResult") }
        defer { mes__v1__hold_result__free_unpacked(message, nil) }
        var held: [LotRef] = []
        for i in 0..<message.pointee.n_held { held.append(try lotRef(message.pointee.held[i], "held[\(i)]")) }
        return held
    }
}
