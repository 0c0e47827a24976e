import MESDomain

/// The plant day `mesgate demo` writes: 1 December 2026 in a pump plant in Lyon (+01:00). Fixed,
/// so that the README's tour ("A tour with the demo data") can name its lots, orders and outbox
/// rows, and a test runs every command of it.
///
/// Four suppliers' lots are received; four production orders mould housings from resin, turn
/// impellers from steel and assemble four serial-tracked pumps (housing, impeller and seal
/// consumed into each serial, bolts untracked); a mould change stops a press; short shots are
/// reported as scrap and a seal lot damaged in transit is scrapped; a pressure test passes, a wall-thickness check fails (the demo holds that lot); two
/// pumps go on pallet SSCC-0042 to one customer, a third ships loose to another; the MES reports
/// one seal lot nobody received (an exception). No id here is used elsewhere in the README.
struct DemoPlantDay {
    /// 2026-12-01T06:00:00+01:00.
    static let startMs: Int64 = 1_796_101_200_000
    static let tzOffset = "+01:00"
    static let plant = "LYON"

    /// The lots, orders and parties the README's tour uses.
    enum Names {
        static let resinLot = LotRef(product: "RESIN", lot: "R-1042")
        static let secondResinLot = LotRef(product: "RESIN", lot: "R-1043")
        static let steelLot = LotRef(product: "STEEL", lot: "ST-5507")
        static let sealLot = LotRef(product: "SEAL", lot: "SE-310")
        static let unknownSealLot = LotRef(product: "SEAL", lot: "SE-311")
        static let damagedSealLot = LotRef(product: "SEAL", lot: "SE-309")
        static let bolts = LotRef(product: "BOLT-M8")
        static let housingLot = LotRef(product: "HOUSING", lot: "H-1201-A")
        static let failedHousingLot = LotRef(product: "HOUSING", lot: "H-1201-B")
        static let impellerLot = LotRef(product: "IMPELLER", lot: "IM-7001")
        static let pallet = LotRef(container: "SSCC-0042")
        static let serials = ["SN-76", "SN-77", "SN-78", "SN-79"]
        static func pump(_ serial: String) -> LotRef { LotRef(product: "PUMP", serial: serial) }
        static let housingOrder = "WH/MO/00101"
        static let impellerOrder = "WH/MO/00102"
        static let pumpOrder = "WH/MO/00103"
        static let secondHousingOrder = "WH/MO/00104"
        static let firstCustomer = "Hydro Services GmbH"
        static let secondCustomer = "AquaTech Ltd"
        static let holdReason = "wall thickness below 2.4 mm"
    }

    /// The events, in the order the MES sends them.
    let events: [Event]

    init() {
        var day = Builder()
        typealias N = Names
        func kg(_ value: Double) -> Quantity { Quantity(value: value, uom: "kg") }
        func units(_ value: Double) -> Quantity { Quantity(value: value, uom: "Units") }

        // Goods receipt, early shift.
        day.at(10, "RECEIVING", "op-marc")
        day.add(
            .received(
                .init(
                    lot: N.resinLot, qty: kg(500), supplier: "Polymeres du Rhone", supplierLot: "PR-88121",
                    purchaseOrder: "P00041", location: "WH/Stock/Raw")))
        day.add(
            .received(
                .init(
                    lot: N.secondResinLot, qty: kg(500), supplier: "Polymeres du Rhone", supplierLot: "PR-88122",
                    purchaseOrder: "P00041", location: "WH/Stock/Raw")))
        day.at(25, "RECEIVING", "op-marc")
        day.add(
            .received(
                .init(
                    lot: N.steelLot, qty: kg(200), supplier: "Aciers du Nord", supplierLot: "AN-2211",
                    purchaseOrder: "P00042", location: "WH/Stock/Raw")))
        day.add(
            .received(
                .init(
                    lot: N.sealLot, qty: units(100), supplier: "Joints Martin", supplierLot: "JM-4410",
                    purchaseOrder: "P00043", location: "WH/Stock/Raw")))
        day.add(
            .received(
                .init(
                    lot: N.damagedSealLot, qty: units(20), supplier: "Joints Martin", supplierLot: "JM-4409",
                    purchaseOrder: "P00043", location: "WH/Stock/Raw")))
        day.at(30, "RECEIVING", "op-marc")
        day.add(.scrapped(.init(lot: N.damagedSealLot, qty: units(20), reason: "damaged in transit")))

        // Moulding housings from resin lot R-1042, with a mould change and scrap.
        day.at(40, "MOLD-1", "op-lea", order: N.housingOrder)
        day.add(.operation(.init(operation: "moulding", state: .started)))
        day.add(.consumed(.init(component: N.resinLot, qty: kg(120))))
        day.at(95, "MOLD-1", "op-lea", order: N.housingOrder)
        day.add(
            .downtime(
                .init(
                    reason: "mould change", loss: .availability, startedAtMs: day.timeMs - 45 * 60_000,
                    endedAtMs: day.timeMs)))
        day.at(150, "MOLD-1", "op-lea", order: N.housingOrder)
        day.add(.produced(.init(output: N.housingLot, good: units(40), scrap: units(2), location: "WH/Stock/WIP")))
        day.add(.operation(.init(operation: "moulding", state: .completed, good: units(40), scrap: units(2))))

        // Turning impellers from steel.
        day.at(60, "LATHE-2", "op-karim", order: N.impellerOrder)
        day.add(.consumed(.init(component: N.steelLot, qty: kg(30))))
        day.at(170, "LATHE-2", "op-karim", order: N.impellerOrder)
        day.add(.produced(.init(output: N.impellerLot, good: units(20), location: "WH/Stock/WIP")))
        day.add(.operation(.init(operation: "turning", state: .completed, good: units(20))))

        // Assembling four pumps, each serial made of one housing, one impeller and two seals.
        for (i, serial) in N.serials.enumerated() {
            day.at(200 + 20 * Int64(i), "ASSY-1", "op-lea", order: N.pumpOrder)
            let pump = N.pump(serial)
            day.add(.consumed(.init(component: N.housingLot, qty: units(1), into: pump)))
            day.add(.consumed(.init(component: N.impellerLot, qty: units(1), into: pump)))
            day.add(.consumed(.init(component: N.sealLot, qty: units(2), into: pump)))
            day.add(.produced(.init(output: pump, good: units(1), location: "WH/Stock/FG")))
        }
        day.at(285, "ASSY-1", "op-lea", order: N.pumpOrder)
        day.add(.consumed(.init(component: N.bolts, qty: units(32))))
        // A seal lot the MES names but nobody received (a typo of SE-310): an exception.
        day.add(.consumed(.init(component: N.unknownSealLot, qty: units(2))))
        day.add(.operation(.init(operation: "assembly", state: .completed, good: units(4))))
        day.at(300, "TEST-1", "op-sofia", order: N.pumpOrder)
        day.add(
            .quality(
                .init(
                    lot: N.pump("SN-77"), check: "pressure test", outcome: .pass,
                    measurements: [.init(name: "pressure", value: 10.2, unit: "bar", lower: 9.5, upper: 10.5)])))

        // Afternoon: a second batch of housings from R-1043 fails its wall-thickness check.
        day.at(360, "MOLD-1", "op-tom", order: N.secondHousingOrder)
        day.add(.consumed(.init(component: N.secondResinLot, qty: kg(60))))
        day.at(420, "MOLD-1", "op-tom", order: N.secondHousingOrder)
        day.add(.produced(.init(output: N.failedHousingLot, good: units(20), location: "WH/Stock/WIP")))
        day.add(.operation(.init(operation: "moulding", state: .completed, good: units(20))))
        day.at(435, "QC-LAB", "op-sofia", order: N.secondHousingOrder)
        day.add(
            .quality(
                .init(
                    lot: N.failedHousingLot, check: "wall thickness", outcome: .fail,
                    measurements: [.init(name: "wall", value: 2.1, unit: "mm", lower: 2.4, upper: 2.8)])))

        // Shipping: SN-76 and SN-77 on a pallet to one customer, SN-78 loose to another.
        day.at(480, "SHIPPING", "op-marc")
        day.add(.packed(.init(container: N.pallet, contents: [N.pump("SN-76"), N.pump("SN-77")], action: .add)))
        day.at(510, "SHIPPING", "op-marc")
        day.add(
            .shipped(
                .init(
                    lot: N.pallet, qty: units(2), customer: N.firstCustomer, delivery: "WH/OUT/00051",
                    destination: "Stuttgart")))
        day.add(
            .shipped(
                .init(
                    lot: N.pump("SN-78"), qty: units(1), customer: N.secondCustomer, delivery: "WH/OUT/00052",
                    destination: "Leeds")))
        events = day.events
    }

    /// Collects events with running ids and times (one second apart within a step).
    private struct Builder {
        var events: [Event] = []
        var timeMs = DemoPlantDay.startMs
        var workCenter = ""
        var operatorID = ""
        var workOrder = ""

        /// The next events happen `minutes` after 06:00, at `workCenter`, by `operatorID`, on `order`.
        mutating func at(_ minutes: Int64, _ workCenter: String, _ operatorID: String, order: String = "") {
            timeMs = DemoPlantDay.startMs + minutes * 60_000
            self.workCenter = workCenter
            self.operatorID = operatorID
            workOrder = order
        }

        mutating func add(_ body: EventBody) {
            events.append(
                Event(
                    eventID: String(format: "demo-%03d", events.count + 1), occurredAtMs: timeMs,
                    tzOffset: DemoPlantDay.tzOffset, plant: DemoPlantDay.plant, workCenter: workCenter,
                    operatorID: operatorID, workOrder: workOrder, body: body))
            timeMs += 1000
        }
    }
}
