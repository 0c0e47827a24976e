import EPCIS
import MESDomain
import Testing

@Suite struct EPCISValidatorTests {
    static let valid = ReferenceData.files("capture/valid", suffix: ".json")
    static let invalid = ReferenceData.files("capture/invalid", suffix: ".json")

    @Test func allCaptureDocumentsArePresent() {
        #expect(Self.valid.count == 38)
        #expect(Self.invalid.count == 15)
    }

    @Test(arguments: valid)
    func validDocumentIsAccepted(name: String) throws {
        let shape = try EPCISValidator.validate(json: try ReferenceData.bytes("capture/valid", name))
        #expect(!shape.events.isEmpty)
    }

    /// The message each invalid document gets: it names the event and field.
    static let expectedMessages: [String: String] = [
        "Combination_of_events_with_missing_mandatory_fields.json": "eventList[0].action: missing",
        "Combination_of_multiple_invalid_fields.json":
            "eventList[0].bizStep: \"transforming\" is not a CBV bizStep and not a URI",
        "Combination_of_non_standard_bizStep_and_disposition.json":
            "eventList[0].bizStep: \"transforming\" is not a CBV bizStep and not a URI",
        "EPCISDocument_without_context.json": "@context: missing",
        "ObjectEvent_with_ilmd_field_without_namespace.json": "eventList[0].ilmd.materialType: has no namespace prefix",
        "ObjectEvent_with_invalid_action.json": "eventList[0].action: \"CREATE\" is not ADD, OBSERVE or DELETE",
        "ObjectEvent_with_invalid_certificationInfo.json": "eventList[0].certificationInfo[0]: an object is not a URI",
        "ObjectEvent_with_invalid_eventTime_format.json":
            "eventList[0].eventTime: \"22-07-2026\" is not an RFC 3339 date-time",
        "ObjectEvent_with_non_standard_bizStep.json":
            "eventList[0].bizStep: \"transforming\" is not a CBV bizStep and not a URI",
        "ObjectEvent_with_non_standard_bizStep_in_second_event.json":
            "eventList[1].bizStep: \"transforming\" is not a CBV bizStep and not a URI",
        "ObjectEvent_with_non_standard_disposition.json":
            "eventList[0].disposition: \"in_transport\" is not a CBV disposition and not a URI",
        "ObjectEvent_with_quantity_as_text.json": "eventList[0].quantityList[0].quantity: \"twenty\" is not a number",
        "ObjectEvent_with_unknown_field_in_quantityList.json":
            "eventList[0].quantityList[0].weight: is not allowed here",
        "ObjectEvent_without_action_and_eventTime.json": "eventList[0].eventTime: missing",
        "ObjectEvent_without_identifier_list.json": "eventList[0].epcList: missing",
    ]

    @Test(arguments: invalid)
    func invalidDocumentIsRefusedWithItsProblem(name: String) throws {
        let bytes = try ReferenceData.bytes("capture/invalid", name)
        let error = #expect(throws: EPCISError.self) { try EPCISValidator.validate(json: bytes) }
        let expected = try #require(Self.expectedMessages[name])
        #expect(error?.message.hasPrefix(expected) == true, "\(error?.message ?? "")")
    }

    @Test(arguments: [
        ("{\"@context\": [\"x\"], \"type\": \"EPCISDocument\"", "not valid JSON"),
        ("[]", "the document must be a JSON object"),
        ("{\"@context\": [\"x\"], \"type\": \"Foo\"}", "type: \"Foo\" is not EPCISDocument"),
        ("{\"@context\": [\"x\"], \"type\": \"EPCISDocument\", \"schemaVersion\": \"2.0\"}", "creationDate: missing"),
    ])
    func malformedDocumentsAreRefused(json: String, message: String) {
        let error = #expect(throws: EPCISError.self) { try EPCISValidator.validate(json: Array(json.utf8)) }
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "")")
    }

    @Test(arguments: ["urn:epc:id:sgtin:1.2.3", "https://id.gs1.org/01/1", "cbv:BizStep-receiving", "x-y.z+1:a"])
    func urisHaveASchemeAndMore(text: String) { #expect(EPCISValidator.isURI(text)) }

    @Test(arguments: ["transforming", ":x", "1abc:x", "abc:", "a b:c", ""])
    func nonURIsAreRecognised(text: String) { #expect(!EPCISValidator.isURI(text)) }
}

@Suite struct GS1IdentifierTests {
    @Test(arguments: [
        ("urn:epc:id:sgtin:4012345.011111.987", LotRef(product: "04012345111118", serial: "987")),
        ("urn:epc:class:lgtin:4012345.012345.R%2F1", LotRef(product: "04012345123456", lot: "R/1")),
        ("urn:epc:id:sscc:4012345.0000000111", LotRef(container: "040123450000001112")),
        ("https://id.gs1.org/01/09521234543213/10/L-1", LotRef(product: "09521234543213", lot: "L-1")),
        ("https://example.com/01/9521234543213/21/S1?x=1", LotRef(product: "09521234543213", serial: "S1")),
        ("https://id.gs1.org/00/095212345000000017", LotRef(container: "095212345000000017")),
        ("urn:uuid:1234", LotRef(container: "urn:uuid:1234")),
    ])
    func instanceIdentifiers(uri: String, ref: LotRef) { #expect(GS1Identifier.instance(uri) == ref) }

    @Test func classIdentifiers() {
        #expect(GS1Identifier.lotClass("urn:epc:idpat:sgtin:4012345.012345.*") == LotRef(product: "04012345123456"))
        #expect(
            GS1Identifier.lotClass("urn:acme:batch:7") == LotRef(product: "urn:acme:batch:7", lot: "urn:acme:batch:7"))
    }
}

@Suite struct ISOTimestampTests {
    @Test(arguments: [
        ("2020-03-04T11:00:30.000+01:00", "2020-03-04T10:00:30.000Z"),
        ("2023-02-02T11:04:03.1415Z", "2023-02-02T11:04:03.142Z"),  // half to even
        ("2023-02-02T11:04:03.1425Z", "2023-02-02T11:04:03.142Z"),
        ("2023-12-31T23:59:59.9996Z", "2024-01-01T00:00:00.000Z"),  // carries into the next year
        ("2020-02-29T23:30:00-05:30", "2020-03-01T05:00:00.000Z"),
        ("2020-03-04T11:00:30+0100", "2020-03-04T10:00:30.000Z"),
    ])
    func utcMilliseconds(text: String, utc: String) throws {
        #expect(try #require(ISOTimestamp(text)).utcMilliseconds == utc)
    }

    @Test(arguments: ["22-07-2026", "2026-02-30T00:00:00Z", "2026-07-22T24:00:00Z", "2026-07-22T06:45:00+2", ""])
    func notTimes(text: String) { #expect(ISOTimestamp(text) == nil) }
}
