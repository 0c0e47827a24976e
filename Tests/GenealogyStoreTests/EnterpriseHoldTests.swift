import GenealogyStore
import MESDomain
import Testing

/// Holds placed at the hub: what the hub sends each plant, and what a plant does with it.
@Suite struct EnterpriseHoldTests {
    func fromPlant(_ plant: String, _ sequence: Int64, _ id: String, workOrder: String = "", _ body: EventBody)
        -> IngestRequest
    {
        var r = request(id, workOrder: workOrder, body)
        r.origin = EventOrigin(plant: plant, sequence: sequence, recordedAtMs: 1_750_000_000_500)
        return r
    }

    func placeEnterprise(_ store: GenealogyStore, _ hubHold: Int64, _ roots: [LotRef]) async -> HoldOutcome {
        await withCheckedContinuation { done in
            store.placeEnterpriseHold(hubHold: hubHold, roots: roots, reason: "recall", by: "hub:qa") {
                done.resume(returning: $0)
            }
        }
    }

    func releaseEnterprise(_ store: GenealogyStore, _ hubHold: Int64) async -> HoldOutcome {
        await withCheckedContinuation { done in
            store.releaseEnterpriseHold(hubHold: hubHold, reason: "cleared", by: "hub:qa") {
                done.resume(returning: $0)
            }
        }
    }

    @Test func theHubSendsEachPlantTheRootsOfWhatItHoldsThere() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        // Plant A: steel into an order making brackets, shipped. Plant B: receives the brackets, makes
        // assemblies directly from them. Plant C: unrelated.
        _ = await store.ingest([
            fromPlant("A", 1, "r", .received(.init(lot: lot("STEEL", "S1"), qty: qty(10), supplier: "Acme"))),
            fromPlant("A", 2, "c", workOrder: "A/MO/1", .consumed(.init(component: lot("STEEL", "S1"), qty: qty(4)))),
            fromPlant(
                "A", 3, "p", workOrder: "A/MO/1", .produced(.init(output: lot("BRK", "B1"), good: qty(5, "Units")))),
            fromPlant("B", 1, "r", .received(.init(lot: lot("BRK", "B1"), qty: qty(5, "Units"), supplier: "A"))),
            fromPlant(
                "B", 2, "c",
                .consumed(.init(component: lot("BRK", "B1"), qty: qty(5, "Units"), into: lot("ASSY", "X1")))),
            fromPlant("C", 1, "r", .received(.init(lot: lot("PAINT", "P1"), qty: qty(1), supplier: "Acme"))),
        ])
        #expect(await store.placeHold(HoldRequest(lot: lot("STEEL", "S1"), reason: "recall"), by: "qa") != .notFound)
        // The hub tells Odoo nothing of its holds: the plants post their own.
        #expect(try store.count("SELECT count(*) FROM outbox") == 0)
        let book = try HubHoldBook(path: fixture.path)
        let pending = try book.pending(limit: 10)
        #expect(pending.count == 1 && pending[0].root == lot("STEEL", "S1") && !pending[0].isRelease)
        let hold = pending[0].holdID
        let lots = try book.lotsByPlant(hold: hold)
        // Plant A: the steel (the bracket made through an order is its own root: orders are not held
        // items); plant B: the bracket it received (the assembly follows from it there); not C.
        #expect(lots["A"] == [lot("STEEL", "S1"), lot("BRK", "B1")])
        #expect(lots["B"] == [lot("BRK", "B1")])
        #expect(lots["C"] == nil)

        try book.sent(hold: hold, to: "A", lots: 2, sequence: 4)
        try book.sent(hold: hold, to: "B", lots: 1, sequence: 9)
        try book.done(pending[0], nowMs: 100)
        #expect(try book.pending(limit: 10).isEmpty)
        #expect(try book.plantsAwaitingApplication() == ["A", "B"])
        try book.applied(plant: "A", through: 4, nowMs: 200)
        try book.applied(plant: "B", through: 8, nowMs: 200)  // not yet as far as its hold
        let deliveries = try store.holdDeliveries(lot: lot("STEEL", "S1"))
        #expect(deliveries.map(\.plant) == ["A", "B"])
        #expect(deliveries.map(\.appliedAtMs) == [200, nil])
        #expect(try book.plantsAwaitingApplication() == ["B"])

        // The release goes to the same plants once the hub's hold is released.
        #expect(await store.releaseHold(HoldRequest(lot: lot("STEEL", "S1"), reason: "ok"), by: "qa") != .notFound)
        let release = try book.pending(limit: 10)
        #expect(release.count == 1 && release[0].isRelease && release[0].reason == "ok")
        #expect(try book.plants(of: hold) == ["A", "B"])
        try book.releaseSent(hold: hold, to: "A", sequence: 12)
        try book.done(release[0], nowMs: 300)
        #expect(try book.pending(limit: 10).isEmpty)
    }

    @Test func aPlantPlacesAHubHoldOnceAndItsReleaseFreesOnlyWhatItPlaced() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest([
            request("r", .received(.init(lot: lot("BRK", "B1"), qty: qty(5, "Units"), supplier: "A"))),
            request("c", .consumed(.init(component: lot("BRK", "B1"), qty: qty(5, "Units"), into: lot("ASSY", "X1")))),
        ])
        // A hold of the plant's own on the assembly, for another reason.
        #expect(
            await store.placeHold(HoldRequest(lot: lot("ASSY", "X1"), reason: "paint"), by: "qa-local") != .notFound)

        let placed = await placeEnterprise(store, 42, [lot("BRK", "B1"), lot("UNKNOWN", "U1")])
        guard case .changed(let held) = placed else {
            Issue.record("placed: \(placed)")
            return
        }
        #expect(Set(held) == [lot("BRK", "B1"), lot("ASSY", "X1")])
        // Delivered again: nothing more is placed.
        #expect(await placeEnterprise(store, 42, [lot("BRK", "B1")]) == .changed([]))
        #expect(try store.count("SELECT count(*) FROM holds") == 2)
        #expect(try store.count("SELECT count(*) FROM enterprise_holds WHERE hub_hold_id = 42") == 1)
        #expect(await placeEnterprise(store, 43, [lot("UNKNOWN", "U1")]) == .notFound)

        // The hub's release frees the bracket; the assembly stays held by the plant's own hold.
        guard case .changed(let freed) = await releaseEnterprise(store, 42) else {
            Issue.record("not released")
            return
        }
        #expect(freed == [lot("BRK", "B1")])
        #expect(try store.count("SELECT count(*) FROM holds WHERE released_at_ms IS NULL") == 1)
        #expect(try store.count("SELECT count(*) FROM nodes WHERE status = 'held'") == 1)
        #expect(await releaseEnterprise(store, 42) == .noOpenHold)
        try fixture.expectAuditIntact()
    }
}

@Suite struct HubApplyOrderTests {
    /// The hub applies plants' streams as they arrive: plant C's receipt of an assembly may come
    /// before plant B's production of it. The node still names B, which made it.
    @Test func aLotMadeAtOnePlantAndReceivedAtAnotherNamesTheMakerWhateverTheApplyOrder() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        func fromPlant(_ plant: String, _ sequence: Int64, _ id: String, workOrder: String = "", _ body: EventBody)
            -> IngestRequest
        {
            var r = request(id, workOrder: workOrder, body)
            r.origin = EventOrigin(plant: plant, sequence: sequence, recordedAtMs: 1_750_000_000_500)
            return r
        }
        _ = await store.ingest([
            fromPlant("C", 1, "r", .received(.init(lot: lot("ASSY", "X1"), qty: qty(1, "Units"), supplier: "B"))),
            fromPlant(
                "B", 1, "p", workOrder: "B/MO/1", .produced(.init(output: lot("ASSY", "X1"), good: qty(1, "Units")))),
        ])
        #expect(try store.count("SELECT count(*) FROM nodes WHERE lot = 'X1' AND origin = 'produced'") == 1)
        let trace = try #require(try store.trace(TraceRequest(lot: lot("ASSY", "X1"), direction: .backward)))
        #expect(trace.nodes.first { $0.ref.lot == lot("ASSY", "X1") }?.plant == "B")
    }
}
