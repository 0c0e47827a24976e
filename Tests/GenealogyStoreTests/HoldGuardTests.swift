import MESDomain
import Testing

@testable import GenealogyStore

/// A shipment is refused when what it ships is held, or holds a held item at any depth of open
/// containment; an item unpacked earlier does not count. The guard follows held items up through
/// their containers while there are few of them (`HoldGuard.forwardCheckLimit`), and walks down
/// through the container's contents when there are more: both ways must give the same answers.
@Suite struct HoldGuardTests {
    static func serial(_ n: Int) -> LotRef { LotRef(product: "FG", serial: "S\(n)") }
    static let pallet = LotRef(container: "PAL")
    static let box = LotRef(container: "CASE")
    static let emptied = LotRef(container: "PAL-B")

    /// FG serials S1…S80; CASE holds S1 and S2 and sits on PAL; PAL-B held S3 until it was unpacked.
    static func packedPlant() -> [IngestRequest] {
        (1...80).map { request("make-\($0)", workOrder: "MO1", .produced(.init(output: serial($0), good: qty(1)))) } + [
            request("pack-case", .packed(.init(container: box, contents: [serial(1), serial(2)], action: .add))),
            request("pack-pal", .packed(.init(container: pallet, contents: [box], action: .add))),
            request("pack-b", .packed(.init(container: emptied, contents: [serial(3)], action: .add))),
            request("unpack-b", .packed(.init(container: emptied, contents: [serial(3)], action: .delete))),
        ]
    }

    static func ship(_ id: String, _ what: LotRef) -> IngestRequest {
        request(id, .shipped(.init(lot: what, qty: nil, customer: "C1")))
    }

    /// Holds `lots` one by one, none propagating (each holds the item alone).
    static func hold(_ lots: [LotRef], in store: GenealogyStore) async {
        for lot in lots {
            let placed = await store.placeHold(HoldRequest(lot: lot, reason: "check", propagate: false), by: "qa")
            guard case .changed = placed else {
                Issue.record("hold on \(lot): \(placed)")
                return
            }
        }
    }

    /// The refusal's reason, or nil when the shipment was stored.
    static func refusal(_ outcome: IngestOutcome) -> String? {
        guard case .failed(let error) = outcome else { return nil }
        #expect(error.code == .refused)
        return error.message
    }

    @Test func aContainerHoldingAHeldItemIsRefusedWithFewOrManyItemsHeld() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        #expect(await store.ingest(Self.packedPlant()).allSatisfy { $0.sequence != nil })
        await Self.hold([Self.serial(2), Self.serial(3)], in: store)
        #expect(try store.heldNodeCount() == 2)

        // Few held items: S2, two levels down, refuses the pallet and the case; S3, unpacked, does
        // not refuse PAL-B; S1, in the same case, is not held itself.
        var outcomes = await store.ingest([
            Self.ship("ship-pal", Self.pallet), Self.ship("ship-case", Self.box), Self.ship("ship-b", Self.emptied),
            Self.ship("ship-s1", Self.serial(1)), Self.ship("ship-s2", Self.serial(2)),
        ])
        #expect(Self.refusal(outcomes[0])?.contains("shipped.lot container PAL contains FG serial S2") == true)
        #expect(Self.refusal(outcomes[1])?.contains("shipped.lot container CASE contains FG serial S2") == true)
        #expect(outcomes[2].sequence != nil)
        #expect(outcomes[3].sequence != nil)
        #expect(Self.refusal(outcomes[4])?.contains("is on quality hold") == true)

        // More held items than the forward check takes: the same answers from the walk down.
        await Self.hold((10...80).map(Self.serial), in: store)
        #expect(try store.heldNodeCount() > HoldGuard.forwardCheckLimit)
        outcomes = await store.ingest([
            Self.ship("ship-pal-2", Self.pallet), Self.ship("ship-case-2", Self.box),
            Self.ship("ship-b-2", Self.emptied),
        ])
        #expect(Self.refusal(outcomes[0])?.contains("shipped.lot container PAL contains FG serial S2") == true)
        #expect(Self.refusal(outcomes[1])?.contains("shipped.lot container CASE contains FG serial S2") == true)
        #expect(outcomes[2].sequence != nil)
        #expect(try store.refusedEventCounts() == ["shipment_refused": 5])

        // S2 released: the pallet ships, although many other items are still held.
        #expect(
            await store.releaseHold(HoldRequest(lot: Self.serial(2), reason: "ok"), by: "qa")
                == .changed([
                    Self.serial(2)
                ]))
        outcomes = await store.ingest([Self.ship("ship-pal-3", Self.pallet)])
        #expect(outcomes[0].sequence != nil)
        try fixture.expectAuditIntact()
    }
}
