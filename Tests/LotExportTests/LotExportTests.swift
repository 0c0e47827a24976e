import Foundation
import GenealogyStore
import MESDomain
import Testing

@testable import LotExport

@Suite struct LotExportTests {
    static func exporter(
        _ store: GenealogyStore,
        svg: @escaping @Sendable (String) throws -> [UInt8] = { _ in throw Graphviz.Failure(description: "no dot here")
        }
    ) -> LotExporter {
        LotExporter(store: store, svg: svg)
    }

    static func export(_ fixture: ExportFixture, _ lot: LotRef, _ direction: TraceDirection, _ format: ExportFormat)
        throws -> String
    {
        let document = try #require(
            try exporter(fixture.store).export(ExportRequest(lot: lot, direction: direction, format: format)))
        return String(decoding: document.bytes, as: UTF8.self)
    }

    @Test func jsonStringsAreEscapedOnlyWhereNeeded() throws {
        func written(_ s: String) -> String {
            var out: [UInt8] = []
            JSON.writeString(s, into: &out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(written("plain lot Ø-7") == "\"plain lot Ø-7\"")
        #expect(written("say \"hi\"\\ now") == #""say \"hi\"\\ now""#)
        #expect(written("a\nb\tc\u{01}") == #""a\nb\tc\u0001""#)
        for sample in ["plain", "quote \" in", "tab\tand\u{1F}"] {
            let parsed = try JSONSerialization.jsonObject(with: Data(written(sample).utf8), options: .fragmentsAllowed)
            #expect(parsed as? String == sample)
        }
    }

    @Test func epcisDocumentMapsEveryMaterialEventWithHashIDs() async throws {
        let fixture = try ExportFixture()
        try await fixture.load()
        let text = try Self.export(fixture, ExportFixture.b1, .unspecified, .epcisJSONLD)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect((document["@context"] as? [Any])?.first as? String == EPCISWriter.context)
        #expect(document["type"] as? String == "EPCISDocument")
        #expect(document["schemaVersion"] as? String == "2.0")
        let events = try #require((document["epcisBody"] as? [String: Any])?["eventList"] as? [[String: Any]])
        // The operation has no material: not exported. The hold is one more ObjectEvent.
        let kinds = events.map { "\($0["type"] ?? "")/\($0["bizStep"] ?? "-")" }
        #expect(
            kinds == [
                "ObjectEvent/receiving", "ObjectEvent/receiving", "TransformationEvent/-", "TransformationEvent/-",
                "TransformationEvent/commissioning", "AggregationEvent/packing", "ObjectEvent/shipping",
                "ObjectEvent/inspecting", "ObjectEvent/holding",
            ])
        for event in events {
            let id = try #require(event["eventID"] as? String)
            #expect(id.hasPrefix("ni:///sha-256;") && id.hasSuffix("?ver=CBV2.0"))
        }
        #expect(Set(events.compactMap { $0["eventID"] as? String }).count == events.count)
        let receipt = events[1]
        let quantity = try #require((receipt["quantityList"] as? [[String: Any]])?.first)
        #expect(quantity["epcClass"] as? String == "https://id.gs1.org/01/04006381333931/10/G1")
        #expect(quantity["uom"] as? String == "KGM")
        #expect((receipt["bizTransactionList"] as? [[String: Any]])?.first?["type"] as? String == "po")
        let produced = events[4]
        #expect(produced["transformationID"] as? String == "urn:mesgate:order:MO1")
        #expect(produced["outputQuantityList"] != nil)
        #expect(events[5]["parentID"] as? String == "https://id.gs1.org/00/\(ExportFixture.sscc)")
        #expect(events[6]["disposition"] as? String == "in_transit")
        #expect(events[7]["disposition"] as? String == "non_conformant")
        #expect(events[8]["disposition"] as? String == "non_sellable_other")
        #expect(events[0]["mesgate:operator"] as? String == "op-7")
        #expect(events[0]["mesgate:client"] as? String == "line-1")
        #expect(events[0]["eventTime"] as? String == "2025-06-15T17:06:40.000+02:00")
        // Stable: a second export gives the same ids.
        let again = try Self.export(fixture, ExportFixture.b1, .unspecified, .epcisJSONLD)
        let ids = { (t: String) in t.split(separator: "\"").filter { $0.hasPrefix("ni:///") } }
        #expect(ids(again) == ids(text))
    }

    @Test func fsma204SpreadsheetHasOneRowPerInputOfATransformation() async throws {
        let fixture = try ExportFixture()
        try await fixture.load()
        let text = try Self.export(fixture, ExportFixture.s1, .unspecified, .fsma204CSV)
        #expect(text.hasSuffix("\r\n"))
        let records = parseCSV(text)
        #expect(records.first == FSMA204Writer.headers)
        let rows = records.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(FSMA204Writer.headers, $0)) }
        #expect(rows.allSatisfy { $0.count == FSMA204Writer.headers.count })
        let transformation = rows.filter { $0["Critical Tracking Event"] == "Transformation" }
        #expect(transformation.map { $0["Event ID"] } == ["prd-b1", "prd-b1"])
        #expect(transformation.map { $0["Input Traceability Lot Code"] } == ["S1", "G1"])
        #expect(transformation.allSatisfy { $0["Traceability Lot Code"] == "B1" && $0["Quantity"] == "10" })
        #expect(transformation.first?["Reference Document Number"] == "MO1")
        let receiving = rows.filter { $0["Critical Tracking Event"] == "Receiving" }
        #expect(receiving.first?["Immediate Previous Source"] == "Acme <Steel> & \"Co\"")
        #expect(receiving.first?["Reference Document Number"] == "P00042")
        #expect(receiving.first?["Event Date"] == "2025-06-15")
        #expect(receiving.first?["Event Time"] == "17:06:40+02:00")
        // The pallet's shipment lists what was on it.
        let shipping = rows.filter { $0["Critical Tracking Event"] == "Shipping" }
        #expect(shipping.map { $0["Traceability Lot Code"] } == ["B1"])
        #expect(shipping.first?["Immediate Subsequent Recipient"] == "Customer, \"A\"")
        #expect(shipping.first?["Traceability Lot Code Source"] == "P1")
    }

    /// OWASP CSV injection: a cell a spreadsheet would run as a formula is quoted and starts with `'`;
    /// a plain number (a negative quantity) stays a number.
    @Test(arguments: [
        ("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\""), ("+1+cmd", "\"'+1+cmd\""),
        ("-2+3", "\"'-2+3\""), ("@SUM(A1)", "\"'@SUM(A1)\""), ("\tx", "\"'\tx\""), ("\rx", "\"'\rx\""),
        ("-", "\"'-\""), ("-2.5", "-2.5"), ("+3", "+3"), ("-1.5e-07", "-1.5e-07"), ("12", "12"), ("L-1", "L-1"),
        ("a,b", "\"a,b\""),
    ])
    func fsma204CellsThatLookLikeFormulasAreText(cell: String, written: String) {
        var out: [UInt8] = []
        FSMA204Writer.writeLine([cell, "10"], into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "\(written),10\r\n")
    }

    @Test func htmlReportEscapesTextAndShowsEventsHoldsAndWho() async throws {
        let fixture = try ExportFixture()
        try await fixture.load()
        let text = try Self.export(fixture, ExportFixture.s1, .unspecified, .html)
        #expect(text.hasPrefix("<!DOCTYPE html>"))
        #expect(text.contains("<h1>Lot report: STEEL lot S1</h1>"))
        #expect(text.contains("Acme &lt;Steel&gt; &amp; &quot;Co&quot;"))
        #expect(!text.contains("<Steel>") && !text.contains("<R-1>"))
        #expect(text.contains("supplier recall &lt;R-1&gt;") && text.contains("qa-anna"))
        // Everything but the receipt of G1, which is neither before nor after S1 (only beside it in MO1).
        for event in ExportFixture.events where event.eventID != "rcv-g1" {
            #expect(text.contains(event.eventID), "\(event.eventID)")
        }
        #expect(!text.contains("rcv-g1"))
        #expect(text.contains("2025-06-15 17:06:40 +02:00"))
        #expect(text.contains("@media print") && text.contains("line-1") && text.contains("op-7"))
        #expect(!text.contains("<script") && !text.contains("http://") && !text.contains("src="))
    }

    @Test func htmlReportInlinesThePicture() async throws {
        let fixture = try ExportFixture()
        try await fixture.load()
        let exporter = Self.exporter(fixture.store) { dot in
            Array("<?xml version=\"1.0\"?>\n<svg id=\"picture\"><!-- \(dot.count) --></svg>".utf8)
        }
        let document = try #require(
            try exporter.export(ExportRequest(lot: ExportFixture.b1, direction: .backward, format: .html)))
        let text = String(decoding: document.bytes, as: UTF8.self)
        #expect(text.contains("<div class=\"picture\"><svg id=\"picture\">"))
        #expect(!text.contains("<?xml"))
    }

    /// A real `dot` that is not there: `/usr/bin/env` runs, finds no `dot` on the empty search path,
    /// exits 127 and closes the pipe while ~1 MB of DOT (more than a pipe buffer) is being written.
    /// Before: FileHandle.write's `try!` (or SIGPIPE) ended this test process.
    @Test func withoutGraphvizThePictureFailsWithAReasonAndNothingEnds() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("no-dot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let big =
            "digraph g {\n" + (0..<20_000).map { "  n\($0) [label=\"lot \($0) of a long genealogy\"];\n" }.joined()
            + "}\n"
        #expect(big.utf8.count > 900_000)
        do {
            _ = try Graphviz.svg(big, searchPath: empty.path)
            Issue.record("dot ran without dot on the search path")
        } catch {
            #expect(error.description.contains("graphviz's dot is not installed"), "\(error)")
        }
        // With graphviz installed (scripts/test installs it), the same call draws.
        let svg = try Graphviz.svg("digraph g { a -> b }")
        #expect(String(decoding: svg, as: UTF8.self).contains("<svg"))
    }

    @Test func htmlReportSaysWhyItHasNoPicture() async throws {
        let fixture = try ExportFixture()
        try await fixture.load()
        let text = try Self.export(fixture, ExportFixture.b1, .backward, .html)
        #expect(text.contains("<p class=\"no-picture\">No picture: no dot here.</p>"))
    }

    @Test func dotIsThePictureOfBothTraces() async throws {
        let fixture = try ExportFixture()
        try await fixture.load()
        let text = try Self.export(fixture, ExportFixture.b1, .unspecified, .dot)
        #expect(text.hasPrefix("digraph trace {"))
        for label in [
            "BRACKET lot B1", "STEEL lot S1", "label=\"MO1\"", "container \(ExportFixture.sscc)", "Customer, \\\"A\\\"",
        ] {
            #expect(text.contains(label), "\(label)")
        }
        #expect(text.contains("what went into it and where it went"))
    }

    /// A trace whose nodes, edges and shipments name plants (a hub's): text, JSON and DOT show them;
    /// without plants, none of them says "plant".
    @Test func traceOutputsNameThePlantsWhereKnown() {
        let raw = TraceNodeRef(lot: LotRef(product: "RAW", lot: "R1"))
        let order = TraceNodeRef(lot: nil, workOrder: "MO-B")
        let part = TraceNodeRef(lot: LotRef(product: "PART", lot: "X1"))
        var result = TraceResult(
            nodes: [
                TraceNode(ref: raw, depth: 0, status: "active", plant: "PLANT-A"),
                TraceNode(ref: order, depth: 1, status: "order", plant: "PLANT-B"),
                TraceNode(ref: part, depth: 2, status: "shipped", plant: "PLANT-B"),
            ],
            edges: [
                TraceEdge(
                    from: raw, to: order, kind: "order_input", qty: Quantity(value: 2, uom: "kg"), workOrder: "MO-B",
                    plant: "PLANT-B"),
                TraceEdge(from: order, to: part, kind: "order_output", qty: nil, workOrder: "MO-B", plant: "PLANT-B"),
            ],
            shipments: [TraceShipment(lot: part.lot!, customer: "CUST", delivery: "D1", qty: nil, plant: "PLANT-B")])
        let named = TraceRenderer(result: result, start: raw.lot!, direction: .forward)
        let text = named.text()
        #expect(text.contains("RAW lot R1 (plant PLANT-A)\n"))
        #expect(text.contains("order MO-B (plant PLANT-B)  2 kg\n"))
        #expect(text.contains("PART lot X1 [shipped] (plant PLANT-B)  via MO-B\n"))
        #expect(text.contains("⇒ shipped to CUST, D1, from PLANT-B\n"))
        let json = String(decoding: named.json(), as: UTF8.self)
        #expect(json.components(separatedBy: "\"plant\":\"PLANT-B\"").count - 1 == 5)
        #expect(named.dot().contains("label=\"RAW lot R1\\nplant PLANT-A\""))

        for i in result.nodes.indices { result.nodes[i].plant = "" }
        for i in result.edges.indices { result.edges[i].plant = "" }
        result.shipments[0].plant = ""
        let plain = TraceRenderer(result: result, start: raw.lot!, direction: .forward)
        let outputs = [plain.text(), String(decoding: plain.json(), as: UTF8.self), plain.dot()]
        #expect(outputs.allSatisfy { !$0.contains("plant") && !$0.contains("PLANT") })
    }

    @Test func aDirectionLimitsTheEvents() async throws {
        let fixture = try ExportFixture()
        try await fixture.load()
        let backward = try Self.export(fixture, ExportFixture.b1, .backward, .fsma204CSV)
        #expect(!backward.contains("shp-pallet") && backward.contains("rcv-s1"))
        let forward = try Self.export(fixture, ExportFixture.b1, .forward, .fsma204CSV)
        #expect(forward.contains("shp-pallet") && !forward.contains("rcv-s1"))
    }

    @Test func anUnknownLotIsNilAndNoFormatIsAnError() async throws {
        let fixture = try ExportFixture()
        try await fixture.load()
        let exporter = Self.exporter(fixture.store)
        #expect(
            try exporter.export(
                ExportRequest(lot: LotRef(product: "STEEL", lot: "nope"), direction: .forward, format: .dot))
                == nil)
        #expect(throws: LotExporter.Failure.self) {
            try exporter.export(ExportRequest(lot: ExportFixture.s1, direction: .forward, format: .unspecified))
        }
    }

    @Test(arguments: [
        ("4006381333931", "L 1/x", "https://id.gs1.org/01/04006381333931/10/L%201%2Fx"),
        ("4006381333932", "L1", "urn:mesgate:lot:4006381333932:L1"),  // wrong check digit: not a GTIN
        ("96385074", "L1", "https://id.gs1.org/01/00000096385074/10/L1"),
        ("RESIN:A", "R-1", "urn:mesgate:lot:RESIN%3AA:R-1"),
    ])
    func lotURIs(product: String, lot: String, uri: String) {
        #expect(LotURI.item(LotRef(product: product, lot: lot)) == uri)
    }

    @Test func serialAndContainerURIs() {
        #expect(
            LotURI.item(LotRef(product: "4006381333931", serial: "SN 7"))
                == "https://id.gs1.org/01/04006381333931/21/SN%207")
        #expect(LotURI.item(LotRef(product: "PUMP", serial: "SN7")) == "urn:mesgate:serial:PUMP:SN7")
        #expect(LotURI.item(LotRef(container: ExportFixture.sscc)) == "https://id.gs1.org/00/\(ExportFixture.sscc)")
        #expect(LotURI.item(LotRef(container: "PAL-1")) == "urn:mesgate:container:PAL-1")
    }

    @Test(arguments: [
        (Int64(1_750_000_000_000), "+02:00", "2025-06-15T17:06:40.000+02:00"),
        (Int64(1_750_000_000_123), "-05:30", "2025-06-15T09:36:40.123-05:30"),
        (Int64(0), "", "1970-01-01T00:00:00.000+00:00"),
        (Int64(-1), "+00:00", "1969-12-31T23:59:59.999+00:00"),
    ])
    func localTimes(ms: Int64, offset: String, iso: String) {
        #expect(LocalTime(offset: offset).iso(ms) == iso)
        #expect(LocalTime(offsetMinutes: LocalTime(offset: offset).offsetMinutes).iso(ms) == iso)
    }

    @Test func anOffsetInMinutesReadsAsText() {
        #expect(LocalTime(offsetMinutes: 90).readable(0) == "1970-01-01 01:30:00 +01:30")
        #expect(LocalTime(offsetMinutes: -330).readable(0) == "1969-12-31 18:30:00 -05:30")
        #expect(LocalTime(offsetMinutes: 0).iso(86_400_000) == "1970-01-02T00:00:00.000+00:00")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(LocalTime.of(.current, at: now).offsetMinutes * 60 == TimeZone.current.secondsFromGMT())
    }

    @Test func unitsOfMeasureAreUNCEFACTCodesOrLeftOut() {
        #expect(UnitCode.uncefact("kg") == "KGM")
        #expect(UnitCode.uncefact("KGM") == "KGM")
        #expect(UnitCode.uncefact("Units") == nil)
        #expect(UnitCode.uncefact("bags of 25") == nil)
    }

    @Test func hashIDsKeepTheOrderAcrossWorkersAndRethrow() throws {
        let bodies = (0..<5_000).map { Array("{\"n\":\($0)}".utf8) }
        let ids = try EPCISWriter.hashIDs(bodies) { body, _ in String(decoding: body, as: UTF8.self) }
        #expect(ids == bodies.map { String(decoding: $0, as: UTF8.self) })
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try EPCISWriter.hashIDs(bodies) { body, _ in
                if body == bodies[4_321] { throw Refused() }
                return ""
            }
        }
    }
}
