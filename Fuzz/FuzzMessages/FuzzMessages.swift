import MESDomain
import MESMessages

/// libFuzzer entry: the first byte picks the request type, the rest is its protobuf body, decoded
/// as the services decode it (an event is then validated and encoded again, as ingest stores it).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    switch RequestType(data[0]) {
    case .event:
        guard let event = try? EventCodec.decode(body) else { return 0 }
        try? validator.validate(event)
        let again = EventCodec.encode(event)
        _ = again.withUnsafeBytes { try? EventCodec.decode($0) }
    case .trace: _ = try? TraceCodec.decodeRequest(body)
    case .lotRef: _ = try? HistoryCodec.decodeLotRef(body)
    case .hold: _ = try? HoldCodec.decodeRequest(body)
    case .export: _ = try? ExportCodec.decodeRequest(body)
    case .workOrderFilter: _ = try? WorkOrderCodec.decodeFilter(body)
    case .health: _ = try? HealthCodec.decodeRequest(body)
    case .reflection: _ = try? ReflectionCodec.decodeRequest(body)
    case .epcisImport: _ = try? EPCISImportCodec.decodeDocument(body)
    }
    return 0
}

/// Fixed clock: validation must not depend on when the fuzzer runs (2026-12-01T00:00:00Z).
let validator = EventValidator(nowMs: { 1_796_083_200_000 })

/// Every request message a service decodes; the corpus files start with its raw value.
enum RequestType: UInt8, CaseIterable {
    case event, trace, lotRef, hold, export, workOrderFilter, health, reflection, epcisImport

    init(_ byte: UInt8) {
        self = Self.allCases[Int(byte) % Self.allCases.count]
    }
}
