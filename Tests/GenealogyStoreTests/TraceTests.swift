import Foundation
import GenealogyStore
import MESDomain
import Testing

/// Trace, LotHistory and holds on a real store: every edge kind, cycles, limits, containment windows.
@Suite struct TraceTests {
    /// R1, R2 received; MO1 consumes R1 order-level and R2 into F1, produces F1 and F2;
    /// F1 is split into F1S; F1 is consumed into serial S1 (MO2, direct); S1 packed on PAL, PAL shipped;
    /// F2 packed on PAL2 and unpacked before PAL2 ships; F2 is reworked (RW1 consumes and reports F2).
    static func plant() -> [IngestRequest] {
        let r1 = lot("RAW", "R1")
        let r2 = lot("RAW", "R2")
        let f1 = lot("INT", "F1")
        let f2 = lot("INT", "F2")
        let s1 = LotRef(product: "FG", serial: "S1")
        let pal = LotRef(container: "PAL")
        let pal2 = LotRef(container: "PAL2")
        return [
            request(
                "e1",
                .received(.init(lot: r1, qty: qty(100), supplier: "ACME", supplierLot: "A1", purchaseOrder: "PO1"))),
            request(
                "e2", .received(.init(lot: r2, qty: qty(50), supplier: "BETA", supplierLot: "B1", purchaseOrder: "PO2"))
            ),
            request("e3", workOrder: "MO1", .consumed(.init(component: r1, qty: qty(10)))),
            request("e4", workOrder: "MO1", .consumed(.init(component: r2, qty: qty(5), into: f1))),
            request("e5", workOrder: "MO1", .produced(.init(output: f1, good: qty(8, "Units")))),
            request("e6", workOrder: "MO1", .produced(.init(output: f2, good: qty(4, "Units")))),
            request("e7", .moved(.init(lot: f1, qty: qty(2, "Units"), newLot: lot("INT", "F1S")))),
            request("e8", workOrder: "MO2", .consumed(.init(component: f1, qty: qty(1, "Units"), into: s1))),
            request("e9", .packed(.init(container: pal, contents: [s1], action: .add))),
            request("e10", .shipped(.init(lot: pal, qty: qty(1, "Units"), customer: "CUST-A", delivery: "OUT/1"))),
            request("e11", .packed(.init(container: pal2, contents: [f2], action: .add))),
            request("e12", .packed(.init(container: pal2, contents: [f2], action: .delete))),
            request("e13", .shipped(.init(lot: pal2, qty: qty(1, "Units"), customer: "CUST-B"))),
            request("e14", workOrder: "RW1", .consumed(.init(component: f2, qty: qty(1, "Units")))),
            request("e15", workOrder: "RW1", .produced(.init(output: f2, good: qty(1, "Units")))),
        ]
    }

    static func names(_ result: TraceResult) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: result.nodes.map { ("\($0.ref)", $0.depth) })
    }

    @Test func forwardReachesOrdersSplitsSerialsContainersAndCustomers() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest(Self.plant())
        let result = try #require(try store.trace(TraceRequest(lot: lot("RAW", "R1"), direction: .forward)))
        #expect(
            Self.names(result) == [
                "RAW lot R1": 0, "order MO1": 1, "INT lot F1": 2, "INT lot F2": 2, "INT lot F1S": 3,
                "FG serial S1": 3, "order RW1": 3, "container PAL": 4, "container PAL2": 3,
            ])
        // PAL shipped while S1 was on it; F2 had left PAL2 before PAL2 shipped.
        #expect(result.shipments.map(\.customer) == ["CUST-A"])
        #expect(!result.truncated)
        #expect(result.receipts.isEmpty)
    }

    @Test func backwardReachesSuppliersThroughDirectAndOrderLevelLinks() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest(Self.plant())
        let result = try #require(try store.trace(TraceRequest(lot: LotRef(container: "PAL"), direction: .backward)))
        #expect(
            Self.names(result) == [
                "container PAL": 0, "FG serial S1": 1, "INT lot F1": 2, "order MO2": 2, "RAW lot R2": 3,
                "order MO1": 3, "RAW lot R1": 4,
            ])
        #expect(Set(result.receipts.map(\.supplier)) == ["ACME", "BETA"])
        #expect(result.edges.contains { $0.kind == "direct" && $0.qty == qty(1, "Units") })
    }

    @Test func reworkCycleIsWalkedOnce() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest(Self.plant())
        for direction in [TraceDirection.forward, .backward] {
            let result = try #require(try store.trace(TraceRequest(lot: lot("INT", "F2"), direction: direction)))
            #expect(result.nodes.filter { $0.ref.workOrder == "RW1" }.count == 1)
            #expect(result.edges.filter { $0.workOrder == "RW1" }.count == 2)
        }
    }

    @Test(arguments: [1, 2, 3])
    func depthLimitTruncates(maxDepth: Int) async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest(Self.plant())
        let result = try #require(
            try store.trace(TraceRequest(lot: lot("RAW", "R1"), direction: .forward, maxDepth: maxDepth)))
        #expect(result.nodes.allSatisfy { $0.depth <= maxDepth })
        #expect(result.truncated)
        let all = try #require(try store.trace(TraceRequest(lot: lot("RAW", "R1"), direction: .forward)))
        #expect(result.nodes.count == all.nodes.filter { $0.depth <= maxDepth }.count)
    }

    @Test func nodeLimitTruncatesAndUnknownLotIsNil() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest(Self.plant())
        let result = try #require(
            try store.trace(TraceRequest(lot: lot("RAW", "R1"), direction: .forward, maxNodes: 3)))
        #expect(result.nodes.count == 3 && result.truncated)
        #expect(try store.trace(TraceRequest(lot: lot("RAW", "NOPE"), direction: .forward)) == nil)
        #expect(try store.lotHistory(lot("RAW", "NOPE")) == nil)
    }

    @Test func lotHistoryListsEveryEventOnce() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest(Self.plant())
        let history = try #require(try store.lotHistory(lot("INT", "F2")))
        #expect(history.map(\.eventID) == ["e6", "e11", "e12", "e14", "e15"])
        #expect(history.allSatisfy { $0.client == "test-client" && !$0.raw.isEmpty })
    }

    /// LotHistory as the server sends it, a page at a time: the same events once each, in order, and
    /// only those stored before the first page, whatever is stored meanwhile.
    @Test func lotHistoryPagesCoverTheHistoryAsItStoodAtTheFirst() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest(Self.plant())
        let f2 = lot("INT", "F2")
        let first = try #require(try store.lotHistoryPage(f2, after: 0, through: nil, maxBytes: 1))
        #expect(first.events.map(\.eventID) == ["e6"] && !first.isLast)
        // A page holds one event at least, whatever its byte budget.
        #expect(try store.lotHistoryPage(f2, after: 0, through: nil, maxBytes: 0)?.events.map(\.eventID) == ["e6"])
        _ = await store.ingest([request("e16", workOrder: "RW2", .consumed(.init(component: f2, qty: qty(1, "Units"))))]
        )
        var ids = first.events.map(\.eventID)
        var page = first
        while !page.isLast {
            page = try #require(
                try store.lotHistoryPage(f2, after: page.events.last!.sequence, through: first.through, maxBytes: 1))
            #expect(page.events.count == 1 && page.through == first.through)
            ids += page.events.map(\.eventID)
        }
        #expect(ids == ["e6", "e11", "e12", "e14", "e15"])
        // A new history sees e16; a page as large as the history is the whole of it.
        let whole = try #require(try store.lotHistoryPage(f2, after: 0, through: nil, maxBytes: 1 << 20))
        #expect(whole.isLast && whole.events.map(\.eventID) == ["e6", "e11", "e12", "e14", "e15", "e16"])
        #expect(try store.lotHistory(f2)?.map(\.eventID) == whole.events.map(\.eventID))
        #expect(try store.lotHistoryPage(lot("RAW", "NOPE"), after: 0, through: nil, maxBytes: 1) == nil)
    }

    @Test func holdPropagatesRefusesShipmentAndReleaseRestores() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest(Self.plant())
        let placed = await store.placeHold(HoldRequest(lot: lot("RAW", "R2"), reason: "recall"), by: "qa")
        guard case .changed(let held) = placed else { Issue.record("\(placed)"); return }
        // What the status page shows: the open hold, its root and how many items it covers.
        let open = try store.openHolds(limit: 10)
        #expect(open.count == 1)
        #expect(open.first?.root == lot("RAW", "R2"))
        #expect(open.first?.reason == "recall" && open.first?.placedBy == "qa")
        #expect(open.first?.items == held.count)
        #expect(try store.heldNodeCount() == held.count)
        // R2 went into F1 directly (`into`): F2, made by the same order, is not reached.
        #expect(
            Set(held.map(\.description)) == [
                "RAW lot R2", "INT lot F1", "INT lot F1S", "FG serial S1", "container PAL",
            ])
        let outcome = await store.ingest(
            request("ship-s1", .shipped(.init(lot: LotRef(product: "FG", serial: "S1"), qty: nil, customer: "C"))))
        guard case .failed(let error) = outcome else { Issue.record("\(outcome)"); return }
        #expect(error.code == .refused)
        #expect(try store.refusedEventCounts() == ["shipment_refused": 1])
        #expect(try store.event(id: "ship-s1") == nil)
        try fixture.expectAuditIntact()
        let trace = try #require(try store.trace(TraceRequest(lot: lot("RAW", "R2"), direction: .forward)))
        #expect(trace.nodes.filter { $0.status == "hold" }.count == 5)

        let released = await store.releaseHold(HoldRequest(lot: lot("RAW", "R2"), reason: "ok"), by: "qa")
        #expect(released == .changed(held))
        #expect(try store.openHolds(limit: 10).isEmpty)
        #expect(try store.heldNodeCount() == 0)
        let after = try #require(try store.trace(TraceRequest(lot: lot("RAW", "R2"), direction: .forward)))
        #expect(after.nodes.first { "\($0.ref)" == "container PAL" }?.status == "shipped")
        #expect(after.nodes.first { "\($0.ref)" == "INT lot F1" }?.status == "active")
        #expect(await store.releaseHold(HoldRequest(lot: lot("RAW", "R2"), reason: ""), by: "qa") == .noOpenHold)
        #expect(await store.placeHold(HoldRequest(lot: lot("X", "Y"), reason: ""), by: "qa") == .notFound)
    }

    /// What is made from a held lot after the hold was placed is held under the same hold: a direct
    /// consumption's output, an order's outputs (reported before or after the consumption), a split,
    /// a pallet, and what is made from those in turn; also after the store is reopened. A hold that
    /// does not propagate does not spread; the release frees all of it.
    @Test func lotsMadeFromAHeldLotAfterTheHoldAreHeld() async throws {
        let fixture = StoreFixture()
        var store = try fixture.open()
        _ = await store.ingest(Self.plant())
        let r1 = lot("RAW", "R1")
        let r2 = lot("RAW", "R2")
        #expect(await store.placeHold(HoldRequest(lot: r1, reason: "recall"), by: "qa") != .notFound)
        #expect(await store.placeHold(HoldRequest(lot: r2, reason: "check", propagate: false), by: "qa") != .notFound)
        let before = try #require(try store.openHolds(limit: 10).first { $0.root == r1 }).items
        let outcomes = await store.ingest([
            request("n1", workOrder: "MO3", .consumed(.init(component: r1, qty: qty(1), into: lot("NEW", "N1")))),
            request("n2", workOrder: "MO4", .produced(.init(output: lot("NEW", "N2"), good: qty(1, "Units")))),
            request("n3", workOrder: "MO4", .consumed(.init(component: r1, qty: qty(1)))),
            request("n4", workOrder: "MO4", .produced(.init(output: lot("NEW", "N4"), good: qty(1, "Units")))),
            request("n5", .moved(.init(lot: r1, qty: qty(1), newLot: lot("RAW", "R1S")))),
            request("n6", .packed(.init(container: LotRef(container: "PAL9"), contents: [r1], action: .add))),
            request(
                "n7", workOrder: "MO5",
                .consumed(.init(component: lot("NEW", "N1"), qty: qty(1), into: lot("NEW", "N7")))),
            request("n8", workOrder: "MO6", .consumed(.init(component: r2, qty: qty(1), into: lot("NEW", "N8")))),
            request("n9", .received(.init(lot: lot("RAW", "OTHER"), qty: qty(1), supplier: "ACME"))),
        ])
        #expect(outcomes.allSatisfy { $0.sequence != nil })
        let made = ["NEW lot N1", "NEW lot N2", "NEW lot N4", "RAW lot R1S", "container PAL9", "NEW lot N7"]
        let trace = try #require(try store.trace(TraceRequest(lot: r1, direction: .forward)))
        let status = Dictionary(uniqueKeysWithValues: trace.nodes.map { ("\($0.ref)", $0.status) })
        for name in made { #expect(status[name] == "hold", "\(name)") }
        let n8 = try #require(try store.trace(TraceRequest(lot: lot("NEW", "N8"), direction: .forward)))
        #expect(n8.nodes.first?.status == "active")  // made from R2, whose hold does not propagate
        #expect(try store.openHolds(limit: 10).first { $0.root == r1 }?.items == before + made.count)
        for (i, name) in [lot("NEW", "N1"), lot("NEW", "N7"), LotRef(container: "PAL9")].enumerated() {
            let shipped = await store.ingest(request("ship-\(i)", .shipped(.init(lot: name, qty: nil, customer: "C"))))
            guard case .failed(let error) = shipped else { Issue.record("\(name): \(shipped)"); continue }
            #expect(error.code == .refused)
        }
        #expect(
            await store.ingest(
                request("ship-other", .shipped(.init(lot: lot("RAW", "OTHER"), qty: nil, customer: "C")))
            ).sequence != nil)
        try fixture.expectAuditIntact()

        // Reopened, the writer reads what the open holds cover from the store.
        store.close()
        store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest(
            request(
                "n10", workOrder: "MO7",
                .consumed(.init(component: lot("NEW", "N2"), qty: qty(1), into: lot("NEW", "N10")))))
        let n10 = try #require(try store.trace(TraceRequest(lot: lot("NEW", "N10"), direction: .forward)))
        #expect(n10.nodes.first?.status == "hold")

        guard case .changed(let freed) = await store.releaseHold(HoldRequest(lot: r1, reason: "ok"), by: "qa") else {
            Issue.record("release failed")
            return
        }
        #expect(Set(made + ["NEW lot N10"]).isSubset(of: Set(freed.map(\.description))))
        let after = try #require(try store.trace(TraceRequest(lot: r1, direction: .forward)))
        #expect(!after.nodes.contains { $0.status == "hold" })
        #expect(
            await store.ingest(request("ship-0", .shipped(.init(lot: lot("NEW", "N1"), qty: nil, customer: "C"))))
                .sequence != nil)
        // After the release nothing spreads any more.
        _ = await store.ingest(
            request("n11", workOrder: "MO8", .consumed(.init(component: r1, qty: qty(1), into: lot("NEW", "N11")))))
        let n11 = try #require(try store.trace(TraceRequest(lot: lot("NEW", "N11"), direction: .forward)))
        #expect(n11.nodes.first?.status == "active")
    }
}
