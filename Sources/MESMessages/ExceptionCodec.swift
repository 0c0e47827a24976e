import CProtobufC
public import MESDomain
import MESProtoC

/// `mes.v1.Exceptions` messages with protobuf-c: the filter and actions in, exceptions out (and
/// back, for the CLI and tests). C memory is owned by a `CArena` and freed within each call.
public enum ExceptionCodec {
    /// A decoded `ExceptionFilter`; empty fields match everything.
    public struct Filter: Sendable, Hashable {
        public var workOrder = ""
        public var workCenter = ""
        public var kinds: [String] = []
        public var includeClosed = false
        /// 0: the default.
        public var limit = 0

        public init() {}

        /// Whether `exception` passes (state aside: Subscribe sends closes too).
        public func matches(_ exception: PlantException) -> Bool {
            (workOrder.isEmpty || exception.workOrder == workOrder)
                && (workCenter.isEmpty || exception.workCenter == workCenter)
                && (kinds.isEmpty || kinds.contains(exception.kind))
        }
    }

    public static func decodeFilter(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> Filter {
        guard
            let message = mes__v1__exception_filter__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.ExceptionFilter") }
        defer { mes__v1__exception_filter__free_unpacked(message, nil) }
        try RequestFieldCheck.check(bytes, message.pointee.base.descriptor)
        let m = message.pointee
        var filter = Filter()
        filter.workOrder = try decodeString(m.work_order, field: "work_order")
        filter.workCenter = try decodeString(m.work_center, field: "work_center")
        for i in 0..<m.n_kinds { filter.kinds.append(try decodeString(m.kinds[i], field: "kinds[\(i)]")) }
        filter.includeClosed = m.include_closed != 0
        filter.limit = Int(m.limit)
        return filter
    }

    public static func encodeFilter(_ filter: Filter) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__ExceptionFilter()
        mes__v1__exception_filter__init(&message)
        message.work_order = arena.string(filter.workOrder)
        message.work_center = arena.string(filter.workCenter)
        message.n_kinds = filter.kinds.count
        message.kinds = arena.strings(filter.kinds)
        message.include_closed = filter.includeClosed ? 1 : 0
        message.limit = UInt32(clamping: filter.limit)
        return pack(&message.base)
    }

    /// (id, reason) of an `ExceptionAction`.
    public static func decodeAction(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> (
        id: Int64, reason: String
    ) {
        guard
            let message = mes__v1__exception_action__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.ExceptionAction") }
        defer { mes__v1__exception_action__free_unpacked(message, nil) }
        try RequestFieldCheck.check(bytes, message.pointee.base.descriptor)
        return (Int64(clamping: message.pointee.id), try decodeString(message.pointee.reason, field: "reason"))
    }

    public static func encodeAction(id: Int64, reason: String) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__ExceptionAction()
        mes__v1__exception_action__init(&message)
        message.id = UInt64(clamping: id)
        message.reason = arena.string(reason)
        return pack(&message.base)
    }

    /// One `PlantException`.
    public static func encode(_ exception: PlantException) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__PlantException()
        mes__v1__plant_exception__init(&message)
        fill(&message, exception, arena)
        return pack(&message.base)
    }

    /// An `ExceptionList`.
    public static func encodeList(_ exceptions: [PlantException]) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__ExceptionList()
        mes__v1__exception_list__init(&message)
        var item = Mes__V1__PlantException()
        mes__v1__plant_exception__init(&item)
        message.n_exceptions = exceptions.count
        message.exceptions = arena.messages(exceptions, item) { out, x in fill(&out, x, arena) }
        return pack(&message.base)
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> PlantException {
        guard
            let message = mes__v1__plant_exception__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.PlantException") }
        defer { mes__v1__plant_exception__free_unpacked(message, nil) }
        return try read(message.pointee)
    }

    public static func decodeList(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> [PlantException] {
        guard
            let message = mes__v1__exception_list__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.ExceptionList") }
        defer { mes__v1__exception_list__free_unpacked(message, nil) }
        var found: [PlantException] = []
        for i in 0..<message.pointee.n_exceptions {
            guard let x = message.pointee.exceptions[i]?.pointee else { continue }
            found.append(try read(x))
        }
        return found
    }

    private static func fill(_ m: inout Mes__V1__PlantException, _ x: PlantException, _ arena: CArena) {
        m.id = UInt64(clamping: x.id)
        m.kind = arena.string(x.kind)
        m.state =
            switch x.state {
            case .open: MES__V1__PLANT_EXCEPTION__STATE__OPEN
            case .acknowledged: MES__V1__PLANT_EXCEPTION__STATE__ACKNOWLEDGED
            case .closed: MES__V1__PLANT_EXCEPTION__STATE__CLOSED
            }
        m.latency = arena.string(x.latency)
        m.sequence = UInt64(clamping: x.sequence)
        m.event_id = arena.string(x.eventID)
        m.work_order = arena.string(x.workOrder)
        m.work_center = arena.string(x.workCenter)
        m.lot = arena.string(x.lot)
        m.detail = arena.string(x.detail)
        m.action = arena.string(x.action)
        m.created_at_ms = x.createdAtMs
        m.acknowledged_at_ms = x.acknowledgedAtMs ?? 0
        m.acknowledged_by = arena.string(x.acknowledgedBy)
        m.acknowledge_reason = arena.string(x.acknowledgeReason)
        m.closed_at_ms = x.closedAtMs ?? 0
        m.closed_by = arena.string(x.closedBy)
        m.close_reason = arena.string(x.closeReason)
    }

    private static func read(_ m: Mes__V1__PlantException) throws(MessageDecodingError) -> PlantException {
        let state: ExceptionState =
            switch m.state {
            case MES__V1__PLANT_EXCEPTION__STATE__ACKNOWLEDGED: .acknowledged
            case MES__V1__PLANT_EXCEPTION__STATE__CLOSED: .closed
            default: .open
            }
        var x = PlantException(
            id: Int64(clamping: m.id), kind: try decodeString(m.kind, field: "kind"), state: state,
            latency: try decodeString(m.latency, field: "latency"), createdAtMs: m.created_at_ms)
        x.sequence = Int64(clamping: m.sequence)
        x.eventID = try decodeString(m.event_id, field: "event_id")
        x.workOrder = try decodeString(m.work_order, field: "work_order")
        x.workCenter = try decodeString(m.work_center, field: "work_center")
        x.lot = try decodeString(m.lot, field: "lot")
        x.detail = try decodeString(m.detail, field: "detail")
        x.acknowledgedAtMs = m.acknowledged_at_ms == 0 ? nil : m.acknowledged_at_ms
        x.acknowledgedBy = try decodeString(m.acknowledged_by, field: "acknowledged_by")
        x.acknowledgeReason = try decodeString(m.acknowledge_reason, field: "acknowledge_reason")
        x.closedAtMs = m.closed_at_ms == 0 ? nil : m.closed_at_ms
        x.closedBy = try decodeString(m.closed_by, field: "closed_by")
        x.closeReason = try decodeString(m.close_reason, field: "close_reason")
        return x
    }
}
