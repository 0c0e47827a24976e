import MESDomain
import Testing

@Suite struct MasterDataRulesTests {
    struct Data: MasterDataLookup {
        var isLoaded = true
        var products: [String: MasterDataProductFacts] = [
            "STEEL": .init(tracking: .lot, uomCategory: "Weight"),
            "BOLT": .init(tracking: .none, uomCategory: "Unit"),
            "PUMP": .init(tracking: .serial, uomCategory: "Unit"),
        ]
        var categories = ["kg": "Weight", "g": "Weight", "Units": "Unit"]
        var centers: Set<String> = ["ASSY-1", "Assembly line 1"]
        var completed: Set<String> = ["MO1/assembly"]
        func product(_ code: String) -> MasterDataProductFacts? { products[code] }
        func uomCategory(_ uom: String) -> String? { categories[uom] }
        func knowsWorkCenter(_ name: String) -> Bool { centers.contains(name) }
        func completedBefore(order: String, operation: String) -> Bool { completed.contains("\(order)/\(operation)") }
    }

    func event(_ body: EventBody, workCenter: String = "ASSY-1", order: String = "MO1") -> Event {
        Event(
            eventID: "e", occurredAtMs: 1, tzOffset: "+01:00", plant: "P", workCenter: workCenter, operatorID: "o",
            workOrder: order, body: body)
    }

    @Test func eachRuleFindsWhatItIsAbout() {
        let rules = MasterDataRules()
        let data = Data()
        func rulesOf(_ e: Event) -> [MasterDataRules.Rule] { rules.findings(e, data).map(\.rule) }
        let steel = LotRef(product: "STEEL", lot: "S1")
        #expect(rulesOf(event(.consumed(.init(component: steel, qty: .init(value: 5, uom: "kg"))))).isEmpty)
        #expect(
            rulesOf(event(.consumed(.init(component: steel, qty: .init(value: 5, uom: "Units"))))) == [.uomMismatch])
        #expect(
            rulesOf(event(.consumed(.init(component: LotRef(product: "NOPE", lot: "x"), qty: nil))))
                == [.unknownProduct])
        #expect(
            rulesOf(event(.consumed(.init(component: LotRef(product: "BOLT", lot: "B7"), qty: nil))))
                == [.lotOnUntracked])
        #expect(
            rulesOf(event(.consumed(.init(component: LotRef(product: "STEEL"), qty: nil)))) == [.missingLot])
        #expect(
            rulesOf(event(.produced(.init(output: LotRef(product: "PUMP", lot: "L1"), good: nil)))) == [.missingLot])
        #expect(
            rulesOf(event(.downtime(.init(reason: "r", loss: .availability, startedAtMs: 1)), workCenter: "X"))
                == [.unknownWorkCenter])
        #expect(
            rulesOf(
                event(
                    .downtime(.init(reason: "r", loss: .availability, startedAtMs: 1)),
                    workCenter: "Assembly line 1")
            ).isEmpty)
        let done = OperationReported(operation: "assembly", state: .completed)
        #expect(rulesOf(event(.operation(done))) == [.duplicateCompletion])
        #expect(rulesOf(event(.operation(done), order: "MO2")).isEmpty)
        let findings = rules.findings(
            event(.consumed(.init(component: steel, qty: .init(value: 5, uom: "Units")))), data)
        #expect(findings.first?.field == "consumed.qty.uom")
    }

    @Test func nothingIsJudgedBeforeMasterDataIsLoadedAndModesApply() throws {
        let e = event(.consumed(.init(component: LotRef(product: "NOPE", lot: "x"), qty: nil)))
        #expect(MasterDataRules().findings(e, Data(isLoaded: false)).isEmpty)
        let rules = try MasterDataRules(parsing: "all=off, unknown_product=refuse")
        #expect(rules.findings(e, Data()).map(\.mode) == [.refuse])
        #expect(rules.mode(.uomMismatch) == .off)
        #expect(throws: MasterDataRulesError.self) { try MasterDataRules(parsing: "unknown_prodcut=refuse") }
        #expect(throws: MasterDataRulesError.self) { try MasterDataRules(parsing: "unknown_product=reject") }
    }

    @Test func consumptionOutsideTheToleranceOfItsBOMLine() throws {
        let bom = BOMExpectation(
            product: "PUMP", productQty: 1, productUom: "Units",
            lines: [.init(component: "SEAL", qty: 2, uom: "Units"), .init(component: "GREASE", qty: 10, uom: "g")])
        let factors = ["Units": 1.0, "g": 1.0, "kg": 1000.0]
        func convert(_ q: Quantity, _ to: String) -> Double? {
            guard let from = factors[q.uom], let into = factors[to] else { return nil }
            return q.value * from / into
        }
        let tolerance = try ConsumptionTolerance(parsing: "5%, PUMP>GREASE=20%")
        // 4 pumps: 8 seals and 40 g expected.
        let fine = tolerance.check(
            bom: bom, produced: .init(value: 4, uom: "Units"),
            consumed: ["SEAL": [.init(value: 8, uom: "Units")], "GREASE": [.init(value: 0.047, uom: "kg")]],
            convert: convert)
        #expect(fine.isEmpty)
        let over = tolerance.check(
            bom: bom, produced: .init(value: 4, uom: "Units"),
            consumed: ["SEAL": [.init(value: 6, uom: "Units"), .init(value: 3, uom: "Units")]], convert: convert)
        #expect(over.map(\.component) == ["SEAL", "GREASE"])
        #expect(over[0].isOver && over[0].expected == 8 && over[0].actual == 9)
        #expect(!over[1].isOver && over[1].actual == 0)
        #expect(
            try ConsumptionTolerance(parsing: "-1").check(
                bom: bom, produced: .init(value: 4, uom: "Units"), consumed: [:], convert: convert
            ).isEmpty)
    }
}
