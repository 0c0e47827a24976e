import GenealogyStore
import MESDomain
import SQLite
import Testing

/// The plant of every node, edge, receipt, shipment and history entry (genealogy/MODEL.md, "Many
/// plants"): at a hub from `plant_events`, at a plant store the store's plant or nothing.
@Suite struct TracePlantTests {
    static func fromPlant(_ plant: String, _ sequence: Int64, _ id: String, workOrder: String = "", _ body: EventBody)
        -> IngestRequest
    {
        var r = request(id, workOrder: workOrder, body)
        r.origin = EventOrigin(plant: plant, sequence: sequence, recordedAtMs: 1_750_000_000_500)
        return r
    }

    static let raw = lot("RAW", "R1")
    static let part = lot("PART", "X1")
    static let product = lot("FIN", "F1")

    /// Plant A receives R1, makes X1 from it in MO-A and ships X1 to plant B; plant B receives X1
    /// under the same (product, lot), makes F1 from it in MO-B and ships F1. Every event's MES
    /// `plant` is "P1" (the fixture's): the hub names the plant it came from instead.
    static func twoPlants() -> [IngestRequest] {
        [
            fromPlant(
                "PLANT-A", 1, "a1", .received(.init(lot: raw, qty: qty(100), supplier: "ACME", supplierLot: "S9"))),
            fromPlant("PLANT-A", 2, "a2", workOrder: "MO-A", .consumed(.init(component: raw, qty: qty(10)))),
            fromPlant("PLANT-A", 3, "a3", workOrder: "MO-A", .produced(.init(output: part, good: qty(5, "Units")))),
            fromPlant(
                "PLANT-A", 4, "a4",
                .shipped(.init(lot: part, qty: qty(5, "Units"), customer: "PLANT-B", delivery: "A/OUT/1"))),
            fromPlant(
                "PLANT-B", 1, "b1",
                .received(.init(lot: part, qty: qty(5, "Units"), supplier: "PLANT-A", purchaseOrder: "PO-B1"))),
            fromPlant("PLANT-B", 2, "b2", workOrder: "MO-B", .consumed(.init(component: part, qty: qty(5, "Units")))),
            fromPlant("PLANT-B", 3, "b3", workOrder: "MO-B", .produced(.init(output: product, good: qty(5, "Units")))),
            fromPlant(
                "PLANT-B", 4, "b4",
                .shipped(.init(lot: product, qty: qty(5, "Units"), customer: "CUST", delivery: "B/OUT/1"))),
        ]
    }

    static func plants(_ result: TraceResult) -> [String: String] {
        Dictionary(uniqueKeysWithValues: result.nodes.map { ("\($0.ref)", $0.plant) })
    }

    static func edgePlants(_ result: TraceResult) -> [String: String] {
        Dictionary(uniqueKeysWithValues: result.edges.map { ("\($0.from) -> \($0.to)", $0.plant) })
    }

    @Test func aHubTraceNamesThePlantOfEveryNodeEdgeReceiptAndShipment() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let outcomes = await store.ingest(Self.twoPlants())
        #expect(outcomes.allSatisfy { $0.sequence != nil })

        let backward = try #require(try store.trace(TraceRequest(lot: Self.product, direction: .backward)))
        #expect(
            Self.plants(backward) == [
                "FIN lot F1": "PLANT-B", "order MO-B": "PLANT-B", "PART lot X1": "PLANT-A", "order MO-A": "PLANT-A",
                "RAW lot R1": "PLANT-A",
            ])
        #expect(
            Self.edgePlants(backward) == [
                "order MO-B -> FIN lot F1": "PLANT-B", "PART lot X1 -> order MO-B": "PLANT-B",
                "order MO-A -> PART lot X1": "PLANT-A", "RAW lot R1 -> order MO-A": "PLANT-A",
            ])
        // X1 appeared at plant A, and plant B received it.
        #expect(
            Set(backward.receipts.map { "\($0.lot) from \($0.supplier) at \($0.plant)" }) == [
                "PART lot X1 from PLANT-A at PLANT-B", "RAW lot R1 from ACME at PLANT-A",
            ])

        let forward = try #require(try store.trace(TraceRequest(lot: Self.raw, direction: .forward)))
        #expect(Self.plants(forward)["FIN lot F1"] == "PLANT-B" && Self.plants(forward)["PART lot X1"] == "PLANT-A")
        #expect(
            forward.shipments.map { "\($0.lot) to \($0.customer) from \($0.plant)" } == [
                "PART lot X1 to PLANT-B from PLANT-A", "FIN lot F1 to CUST from PLANT-B",
            ])
    }

    @Test func aHubLotHistoryNamesThePlantOfEveryEntry() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest(Self.twoPlants())
        // An event stored at the hub itself (no origin) takes its own `plant`.
        _ = await store.ingest(request("hub-1", .scrapped(.init(lot: Self.part, qty: qty(1, "Units"), reason: "QA"))))
        let history = try #require(try store.lotHistory(Self.part))
        #expect(
            history.map { "\($0.eventID) \($0.plant)" } == [
                "PLANT-A/a3 PLANT-A", "PLANT-A/a4 PLANT-A", "PLANT-B/b1 PLANT-B", "PLANT-B/b2 PLANT-B", "hub-1 P1",
            ])
        let page = try #require(try store.lotHistoryPage(Self.part, after: 0, through: nil, maxBytes: 1 << 20))
        #expect(page.events.map(\.plant) == history.map(\.plant))
        // An export's events carry the same plants.
        let source = try #require(try store.exportSource(lot: Self.part, direction: .unspecified))
        #expect(source.events.first { $0.eventID == "PLANT-B/b3" }?.plant == "PLANT-B")
        #expect(source.events.first { $0.eventID == "hub-1" }?.plant == "P1")
    }

    /// A plant store that never replicated (no `store_identity.plant`): traces name no plant, as
    /// before; a history entry shows the event's own `plant` (its row is read anyway).
    @Test func aPlantStoreWithoutAPlantNameChangesNothing() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest(TraceTests.plant())
        let forward = try #require(try store.trace(TraceRequest(lot: lot("RAW", "R1"), direction: .forward)))
        let backward = try #require(try store.trace(TraceRequest(lot: lot("INT", "F1"), direction: .backward)))
        for result in [forward, backward] {
            #expect(result.nodes.allSatisfy { $0.plant.isEmpty } && result.edges.allSatisfy { $0.plant.isEmpty })
        }
        #expect(!forward.shipments.isEmpty && forward.shipments.allSatisfy { $0.plant.isEmpty })
        #expect(!backward.receipts.isEmpty && backward.receipts.allSatisfy { $0.plant.isEmpty })
        let history = try #require(try store.lotHistory(lot("INT", "F2")))
        #expect(history.map(\.plant) == Array(repeating: "P1", count: 5))
    }

    /// A plant store that serves a plant (`serve --plant`) names it everywhere, whatever the MES sent.
    @Test func aPlantStoreServingAPlantNamesItEverywhere() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest(TraceTests.plant())
        try ReplicationLog(path: fixture.path).claimPlant("PLANT-A")
        let forward = try #require(try store.trace(TraceRequest(lot: lot("RAW", "R1"), direction: .forward)))
        let backward = try #require(try store.trace(TraceRequest(lot: lot("INT", "F1"), direction: .backward)))
        for result in [forward, backward] {
            #expect(result.nodes.allSatisfy { $0.plant == "PLANT-A" })
            #expect(result.edges.allSatisfy { $0.plant == "PLANT-A" })
        }
        #expect(!forward.shipments.isEmpty && forward.shipments.allSatisfy { $0.plant == "PLANT-A" })
        #expect(!backward.receipts.isEmpty && backward.receipts.allSatisfy { $0.plant == "PLANT-A" })
        #expect(try store.lotHistory(lot("INT", "F2"))?.allSatisfy { $0.plant == "PLANT-A" } == true)
    }
}
