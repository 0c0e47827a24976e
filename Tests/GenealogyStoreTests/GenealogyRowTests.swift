import GenealogyStore
import MESDomain
import SQLite
import Testing

/// Each event kind makes the rows genealogy/MODEL.md says it makes.
@Suite struct GenealogyRowTests {
    /// (from "product/lot", to "product/lot" or "order:NAME", kind) for every edge.
    static func edges(_ store: GenealogyStore) throws -> Set<[String]> {
        let rows = try store.rows(
            """
            SELECT e.kind,
              CASE f.kind WHEN 'order' THEN 'order:' || f.name WHEN 'container' THEN 'box:' || f.container
                ELSE f.product || '/' || f.lot || f.serial END,
              CASE t.kind WHEN 'order' THEN 'order:' || t.name WHEN 'container' THEN 'box:' || t.container
                ELSE t.product || '/' || t.lot || t.serial END
            FROM edges e JOIN nodes f ON f.id = e.from_node JOIN nodes t ON t.id = e.to_node
            """)
        return Set(rows.map { $0.map { if case .text(let s) = $0 { s } else { "?" } } })
    }

    @Test func receiptMakesALotAndAReceipt() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let received = MaterialReceived(
            lot: lot("STEEL", "S1"), qty: qty(100), supplier: "ACME", supplierLot: "A-77", purchaseOrder: "PO1",
            location: "WH/Stock")
        let outcome = await store.ingest(request("r1", .received(received)))
        #expect(outcome == .accepted(sequence: 1))
        #expect(
            try store.rows("SELECT kind, product, lot, origin, status, location FROM nodes")
                == [["lot", "STEEL", "S1", "received", "active", "WH/Stock"]])
        #expect(
            try store.rows("SELECT supplier, supplier_lot, purchase_order, qty, uom, location, sequence FROM receipts")
                == [["ACME", "A-77", "PO1", .real(100), "kg", "WH/Stock", 1]])
        #expect(try store.count("SELECT count(*) FROM outbox") == 0)
        #expect(try store.rows("SELECT role FROM event_nodes WHERE sequence = 1") == [["lot"]])
    }

    @Test func consumptionIntoAnOutputMakesADirectEdge() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let outcomes = await store.ingest([
            request("r1", .received(.init(lot: lot("STEEL", "S1"), qty: qty(10)))),
            request(
                "c1", workOrder: "MO1",
                .consumed(
                    .init(component: lot("STEEL", "S1"), qty: qty(2), into: LotRef(product: "BIKE", serial: "B1")))),
        ])
        #expect(outcomes == [.accepted(sequence: 1), .accepted(sequence: 2)])
        #expect(
            try Self.edges(store) == [["direct", "STEEL/S1", "BIKE/B1"], ["order_output", "order:MO1", "BIKE/B1"]])
        #expect(
            try store.rows("SELECT qty, uom, work_order, sequence FROM edges WHERE kind = 'direct'")
                == [[.real(2), "kg", "MO1", 2]])
        #expect(try store.rows("SELECT kind, origin FROM nodes WHERE serial = 'B1'") == [["serial", "produced"]])
        #expect(try store.exceptionCounts().isEmpty)
        // The edge links the component and the output to the event; event_nodes only the order.
        #expect(try store.rows("SELECT role FROM event_nodes WHERE sequence = 2") == [["order"]])
        #expect(try store.lotHistory(lot("STEEL", "S1"))?.map(\.eventID) == ["r1", "c1"])
        #expect(try store.lotHistory(LotRef(product: "BIKE", serial: "B1"))?.map(\.eventID) == ["c1"])
    }

    /// A store written before version 20 has the links of a consumption into an output in
    /// event_nodes as well: every reader still takes the event once.
    @Test func linksStoredTwiceByAnOlderVersionCountOnce() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest([
            request("r1", .received(.init(lot: lot("STEEL", "S1"), qty: qty(10)))),
            request(
                "c1", workOrder: "MO1",
                .consumed(.init(component: lot("STEEL", "S1"), qty: qty(2), into: lot("BIKE", "K1")))),
        ])
        try fixture.rawConnection().execute(
            """
            INSERT INTO event_nodes (node_id, sequence, role)
              SELECT from_node, sequence, 'component' FROM edges WHERE kind = 'direct'
              UNION ALL SELECT to_node, sequence, 'into' FROM edges WHERE kind = 'direct'
            """)
        #expect(try store.count("SELECT count(*) FROM event_nodes WHERE sequence = 2") == 3)
        // Then events of this version: a scrap (an event_nodes row) and a consumption (its edge only).
        _ = await store.ingest([
            request("s1", .scrapped(.init(lot: lot("STEEL", "S1"), qty: qty(1), reason: "offcut"))),
            request(
                "c2", workOrder: "MO1",
                .consumed(.init(component: lot("STEEL", "S1"), qty: qty(2), into: lot("BIKE", "K2")))),
        ])
        let steel = ["r1", "c1", "s1", "c2"]
        #expect(try store.lotHistory(lot("STEEL", "S1"))?.map(\.eventID) == steel)
        #expect(try store.lotHistory(lot("BIKE", "K1"))?.map(\.eventID) == ["c1"])
        #expect(try Self.pages(of: lot("STEEL", "S1"), in: store) == steel.map { [$0] })
        var query = LotQuery()
        query.product = "STEEL"
        #expect(try store.lots(query).map(\.events) == [4])
        let export = try #require(try store.exportSource(lot: lot("STEEL", "S1"), direction: .forward))
        #expect(export.events.map(\.eventID) == steel)
    }

    /// The lot's history read a page at a time, one event a page (`maxBytes` 1): each page's event ids.
    static func pages(of lot: LotRef, in store: GenealogyStore) throws -> [[String]] {
        var pages: [[String]] = []
        var after: Int64 = 0
        var through: Int64?
        while pages.count < 100 {
            let page = try #require(try store.lotHistoryPage(lot, after: after, through: through, maxBytes: 1))
            pages.append(page.events.map(\.eventID))
            if page.isLast { break }
            after = try #require(page.events.last).sequence
            through = page.through
        }
        return pages
    }

    @Test(arguments: [false, true])
    func orderLevelConsumptionLinksThroughTheOrderInEitherOrder(productionFirst: Bool) async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let receive = request("r1", .received(.init(lot: lot("FLOUR", "F1"), qty: qty(50))))
        let consume = request("c1", workOrder: "MO7", .consumed(.init(component: lot("FLOUR", "F1"), qty: qty(20))))
        let produce1 = request(
            "p1", workOrder: "MO7", .produced(.init(output: lot("BREAD", "B1"), good: qty(30, "pc"))))
        let produce2 = request(
            "p2", workOrder: "MO7", .produced(.init(output: lot("BREAD", "B2"), good: qty(10, "pc"))))
        let order = productionFirst ? [receive, produce1, consume, produce2] : [receive, consume, produce1, produce2]
        for r in order { _ = await store.ingest(r) }
        #expect(
            try Self.edges(store) == [
                ["order_input", "FLOUR/F1", "order:MO7"], ["order_output", "order:MO7", "BREAD/B1"],
                ["order_output", "order:MO7", "BREAD/B2"],
            ])
        #expect(try store.count("SELECT count(*) FROM nodes WHERE kind = 'order'") == 1)
    }

    @Test func aSerialLearnsItsLotFromALaterEvent() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest([
            request(
                "c1", workOrder: "MO1",
                .consumed(.init(component: lot("A", "1"), qty: qty(1), into: LotRef(product: "BIKE", serial: "B1")))),
            request(
                "p1", workOrder: "MO1",
                .produced(.init(output: LotRef(product: "BIKE", lot: "L9", serial: "B1"), good: qty(1, "pc")))),
        ])
        #expect(
            try store.rows("SELECT kind, lot, serial, origin, first_sequence FROM nodes WHERE product = 'BIKE'")
                == [["serial", "L9", "B1", "produced", 1]])
        // The component was never received: flagged, and made a node of unknown origin.
        #expect(try store.rows("SELECT origin FROM nodes WHERE product = 'A'") == [["unknown"]])
        #expect(try store.exceptionCounts() == ["unknown_lot": 1])
    }

    @Test func repeatedProductionAddsToTheOrderOutputEdge() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        for id in ["p1", "p2"] {
            _ = await store.ingest(
                request(id, workOrder: "MO1", .produced(.init(output: lot("BREAD", "B1"), good: qty(5, "pc")))))
        }
        #expect(try store.rows("SELECT kind, qty, uom, sequence FROM edges") == [["order_output", .real(10), "pc", 1]])
    }

    /// The order → output pair is found in the store when the writer's cache does not know it (a
    /// store opened again): a consumption into the output adds no edge, a second report adds its
    /// quantity to the one edge (migration 17: no unique index does this any more).
    @Test func anOrderOutputPairIsFoundWithoutTheWritersCache() async throws {
        let fixture = StoreFixture()
        let bread = lot("BREAD", "B1")
        do {
            let store = try fixture.open()
            defer { store.close() }
            _ = await store.ingest(request("p1", workOrder: "MO1", .produced(.init(output: bread, good: qty(5, "pc")))))
        }
        do {
            let store = try fixture.open()
            defer { store.close() }
            _ = await store.ingest(
                request(
                    "c1", workOrder: "MO1", .consumed(.init(component: lot("SALT", "S1"), qty: qty(1), into: bread))))
        }
        do {
            let store = try fixture.open()
            defer { store.close() }
            _ = await store.ingest(request("p2", workOrder: "MO1", .produced(.init(output: bread, good: qty(3, "pc")))))
            #expect(
                try store.rows("SELECT qty, uom, sequence FROM edges WHERE kind = 'order_output'")
                    == [[.real(8), "pc", 1]])
            #expect(try store.count("SELECT count(*) FROM edges WHERE kind = 'direct'") == 1)
        }
    }

    @Test func packingMakesAndEndsContainment() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let box = LotRef(container: "SSCC1")
        _ = await store.ingest([
            request("p1", workOrder: "MO1", .produced(.init(output: lot("BREAD", "B1"), good: qty(5, "pc")))),
            request("k1", .packed(.init(container: box, contents: [lot("BREAD", "B1")], action: .add))),
            request("k2", .packed(.init(container: box, contents: [lot("BREAD", "B1")], action: .add))),
        ])
        #expect(try Self.edges(store).contains(["containment", "BREAD/B1", "box:SSCC1"]))
        #expect(try store.count("SELECT count(*) FROM edges WHERE kind = 'containment'") == 1)
        _ = await store.ingest([
            request("k3", .packed(.init(container: box, contents: [lot("BREAD", "B1")], action: .delete))),
            request("k4", .packed(.init(container: box, contents: [lot("BREAD", "B1")], action: .delete))),
        ])
        // k2 packed what was packed already: the edge is k1's (2), ended by k3 (4); k4 found nothing to unpack.
        #expect(try store.rows("SELECT sequence, ended_sequence FROM edges WHERE kind = 'containment'") == [[2, 4]])
        #expect(try store.exceptionCounts() == ["not_in_container": 1])
        #expect(try store.rows("SELECT origin FROM nodes WHERE kind = 'container'") == [["packed"]])
    }

    @Test func moveWithNewLotSplits() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest([
            request("r1", .received(.init(lot: lot("STEEL", "S1"), qty: qty(10)))),
            request("m1", .moved(.init(lot: lot("STEEL", "S1"), qty: qty(4), fromLocation: "A", toLocation: "B"))),
            request(
                "m2",
                .moved(.init(lot: lot("STEEL", "S1"), qty: qty(3), toLocation: "C", newLot: lot("STEEL", "S1-a")))),
        ])
        #expect(try Self.edges(store) == [["split", "STEEL/S1", "STEEL/S1-a"]])
        #expect(
            try store.rows("SELECT lot, origin, location FROM nodes ORDER BY id")
                == [["S1", "received", "B"], ["S1-a", "split", "C"]])
        #expect(try store.rows("SELECT qty FROM edges") == [[.real(3)]])
    }

    @Test func shipmentScrapAndQualityChangeTheLot() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest([
            request("r1", .received(.init(lot: lot("A", "1"), qty: qty(10)))),
            request("r2", .received(.init(lot: lot("A", "2"), qty: qty(10)))),
            request("s1", .shipped(.init(lot: lot("A", "1"), qty: qty(4), customer: "Shop", delivery: "WH/OUT/1"))),
            request("x1", .scrapped(.init(lot: lot("A", "2"), qty: qty(1), reason: "dropped"))),
            request("q1", .quality(.init(lot: lot("A", "2"), check: "visual", outcome: .fail))),
        ])
        #expect(
            try store.rows("SELECT lot, status, quality FROM nodes ORDER BY lot")
                == [["1", "shipped", ""], ["2", "scrapped", "fail"]])
        #expect(
            try store.rows("SELECT customer, delivery, destination, qty, uom, sequence FROM shipments")
                == [["Shop", "WH/OUT/1", "", .real(4), "kg", 3]])
    }

    @Test func untrackedMaterialMakesNoNodeAndNoEdge() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let outcomes = await store.ingest([
            request("c1", workOrder: "MO1", .consumed(.init(component: LotRef(product: "GLUE"), qty: qty(0.2, "l")))),
            request("x1", workOrder: "MO1", .scrapped(.init(lot: LotRef(product: "BOLT"), qty: qty(3, "pc")))),
        ])
        #expect(outcomes == [.accepted(sequence: 1), .accepted(sequence: 2)])
        #expect(try store.count("SELECT count(*) FROM nodes WHERE kind != 'order'") == 0)
        #expect(try store.count("SELECT count(*) FROM edges") == 0)
        #expect(try store.outboxCounts() == ["pending": 2])
        #expect(try store.exceptionCounts().isEmpty)
    }

    @Test func outboxRowsForTheKindsOdooIsTold() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let bodies: [EventBody] = [
            .received(.init(lot: lot("A", "1"), qty: qty(10))),
            .consumed(.init(component: lot("A", "1"), qty: qty(1))),
            .produced(.init(output: lot("B", "1"), good: qty(1))),
            .operation(.init(operation: "cut", state: .started)),
            .downtime(.init(reason: "jam", loss: .availability, startedAtMs: 1_750_000_000_000)),
            .quality(.init(lot: lot("B", "1"), check: "visual", outcome: .pass)),
            .shipped(.init(lot: lot("B", "1"), qty: qty(1), customer: "Shop")),
            .scrapped(.init(lot: lot("A", "1"), qty: qty(1))),
            .packed(.init(container: LotRef(container: "BOX"), contents: [lot("B", "1")], action: .add)),
            .moved(.init(lot: lot("A", "1"), qty: qty(1), toLocation: "X")),
        ]
        let requests = bodies.enumerated().map { request("e\($0.offset)", workOrder: "MO1", $0.element) }
        let outcomes = await store.ingest(requests)
        #expect(outcomes.allSatisfy { if case .accepted = $0 { true } else { false } })
        #expect(
            try store.rows(
                "SELECT kind, document_key, latency_class, state FROM outbox WHERE sequence IS NOT NULL ORDER BY sequence"
            )
                == [
                    ["consumed", "work_order:MO1", "batch", "pending"],
                    ["produced", "work_order:MO1", "batch", "pending"],
                    ["operation", "work_order:MO1", "batch", "pending"],
                    ["downtime", "work_center:WC1", "immediate", "pending"],
                    ["quality", "lot:B/1", "immediate", "pending"],
                    ["scrapped", "work_order:MO1", "normal", "pending"],
                ])
        // The downtime has no end: its machine_stopped exception gets an Odoo activity on MO1.
        #expect(
            try store.rows("SELECT kind, latency_class FROM outbox WHERE exception_id IS NOT NULL") == [
                ["exception", "immediate"]
            ])
        #expect(try store.eventCount() == bodies.count)
        let stored = try store.event(id: "e4")
        #expect(stored?.kind == "downtime")
        #expect(stored?.client == "test-client")
        #expect(stored?.raw == Array("e4".utf8))
        #expect(stored?.sequence == 5)
        #expect(try store.event(id: "nope") == nil)
    }
}
