import EPCIS
import Testing

/// The export of a 10,000-lot recall hashes tens of thousands of similar events: each must get its
/// own id. (How fast is measured by `bench/export/run`, not here.)
@Suite struct CBVEventHashManyEventsTests {
    static func event(_ i: Int) -> [UInt8] {
        Array(
            """
            {"type": "ObjectEvent", "eventTime": "2026-03-04T11:00:30.\(100 + i % 900)+01:00", "eventTimeZoneOffset": "+01:00",
             "epcList": ["https://id.gs1.org/01/09521234543213/21/SN\(i)", "https://id.gs1.org/00/095212345000000017"],
             "quantityList": [{"epcClass": "https://id.gs1.org/01/09521234543213/10/LOT-\(i % 97)", "quantity": 12.5, "uom": "KGM"}],
             "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
             "readPoint": {"id": "https://id.gs1.org/414/9521234000006"},
             "bizTransactionList": [{"type": "po", "bizTransaction": "urn:mesgate:po:PO-\(i)"}],
             "destinationList": [{"type": "owning_party", "destination": "urn:mesgate:customer:C-\(i % 13)"}]}
            """.utf8)
    }

    @Test func tenThousandSimilarEventsGetDistinctIDs() throws {
        let events = (0..<10_000).map(Self.event)
        var ids: Set<String> = []
        for event in events { ids.insert(try CBVEventHash.hashID(ofEvent: event, namespaces: [:])) }
        #expect(ids.count == events.count)
        #expect(ids.allSatisfy { $0.hasPrefix("ni:///sha-256;") && $0.hasSuffix("?ver=CBV2.0") })
    }
}
