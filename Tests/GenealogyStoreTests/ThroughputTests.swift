import Foundation
import GenealogyStore
import MESDomain
import Synchronization
import Testing

/// A rough number for our own information: never asserted, printed in the test log.
@Suite(.serialized) struct ThroughputTests {
    static let events = 100_000

    /// A realistic mix: a receipt, then consumption into a serial, production and packing per unit.
    static func synthetic(_ i: Int) -> IngestRequest {
        let wo = "MO\(i / 1_000)"
        switch i % 4 {
        case 0: return request("t\(i)", .received(.init(lot: lot("STEEL", "S\(i / 4)"), qty: qty(10))))
        case 1:
            return request(
                "t\(i)", workOrder: wo,
                .consumed(
                    .init(
                        component: lot("STEEL", "S\(i / 4)"), qty: qty(1),
                        into: LotRef(product: "BIKE", serial: "B\(i)"))))
        case 2:
            return request(
                "t\(i)", workOrder: wo,
                .produced(.init(output: LotRef(product: "BIKE", serial: "B\(i - 1)"), good: qty(1, "pc"))))
        default:
            return request(
                "t\(i)",
                .packed(
                    .init(
                        container: LotRef(container: "PAL\(i / 400)"),
                        contents: [LotRef(product: "BIKE", serial: "B\(i - 2)")], action: .add)))
        }
    }

    @Test(arguments: [StoreOptions.Synchronous.full, .normal])
    func throughput(synchronous: StoreOptions.Synchronous) throws {
        let fixture = StoreFixture()
        let store = try fixture.open {
            $0.synchronous = synchronous
            $0.queueCapacity = Self.events
        }
        let requests = (0..<Self.events).map(Self.synthetic)
        let done = DispatchSemaphore(value: 0)
        let accepted = Atomic<Int>(0)
        let start = ContinuousClock.now
        for (i, r) in requests.enumerated() {
            _ = store.submit(r) { outcome in
                if case .accepted = outcome { accepted.add(1, ordering: .relaxed) }
                if i == requests.count - 1 { done.signal() }
            }
        }
        done.wait()
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        store.close()
        print(
            "store throughput synchronous=\(synchronous.rawValue): \(Self.events) events in "
                + "\(String(format: "%.2f", seconds)) s = \(Int(Double(Self.events) / seconds)) events/s, "
                + "\(store.committedBatchCount) transactions")
        #expect(accepted.load(ordering: .relaxed) == Self.events)
    }
}
