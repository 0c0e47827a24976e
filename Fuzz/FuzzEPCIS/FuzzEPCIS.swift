import EPCIS
import MESDomain
import MESMessages
import MESServices

/// libFuzzer entry: what `mesgate import-epcis` and `EventIngest.ImportEPCIS` run on a document
/// before the store (`EPCISImporter.importDocument`): JSON reading, validation, mapping to MES
/// events (with their CBV event hashes), encoding each mapped event and holding it to the limits of
/// a gRPC event (`EPCISImporter.requests`); the events it lets through must decode to exactly what
/// was mapped, and are also put through `EventValidator`, which the store's writer applies.
///
/// An input starting with byte 0x01 is the body of an `eventList` (wrapped here into a document
/// that passes the document checks, so mutations reach the event checks and the mapping); any
/// other input is a whole document (the reference documents in ../shared/reference start with
/// `{`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let json: [UInt8]
    if size > 0 && data[0] == 1 {
        json = documentStart + input.dropFirst() + documentEnd
    } else {
        json = Array(input)
    }
    guard let shape = try? EPCISValidator.validate(json: json) else { return 0 }
    let mapping = EPCISMapping(shape)
    // A document with an event over the limits is refused whole, as the importer refuses it.
    guard let requests = try? EPCISImporter.requests(for: mapping, client: "fuzz") else { return 0 }
    for (mapped, request) in zip(mapping.events, requests) {
        let decoded = try? request.raw.withUnsafeBytes { try EventCodec.decode($0) }
        precondition(decoded == mapped.event, "a mapped event does not decode to itself")
        try? validator.validate(mapped.event)
    }
    return 0
}

let documentStart = Array(
    #"{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-07-22T06:45:00+02:00","epcisBody":{"eventList":["#
        .utf8)
let documentEnd = Array("]}}".utf8)

/// Fixed clock: validation must not depend on when the fuzzer runs (2026-12-01T00:00:00Z).
let validator = EventValidator(nowMs: { 1_796_083_200_000 })
