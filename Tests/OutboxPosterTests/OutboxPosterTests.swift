import Logging
import MESDomain
import MESMessages
import Odoo
import OutboxPoster
import Testing

@Suite struct OutboxPosterTests {
    @Test(arguments: [0, 1, 3, 10, 40])
    func backoffGrowsWithJitterUpToTheCap(attempts: Int) {
        var configuration = PosterConfiguration(
            odoo: OdooConfiguration(url: "http://127.0.0.1:9", database: "d", login: "l", apiKey: "k"))
        configuration.retryBaseMs = 100
        configuration.retryMaxMs = 5_000
        let poster = OutboxPoster(storePath: "/nonexistent", configuration: configuration, logger: Logger(label: "t"))
        let full = min(5_000, Int64(100) << Int64(min(attempts, 30)))
        for _ in 0..<50 {
            let delay = poster.backoff(attempts: attempts)
            #expect(delay >= full / 2 && delay <= full)
        }
    }

    @Test func workOrderListIsRepeatedLengthDelimitedWorkOrders() {
        let order = WorkOrder(
            id: "WH/MO/1", odooID: 7, product: "BR", qty: 10, state: "confirmed", scheduledStartMs: 1,
            outputTracking: .lot, components: [.init(product: "STEEL", qty: 8, tracking: .lot)],
            operations: [.init(sequence: 10, name: "cut", workCenter: "WC", expectedMinutes: 30)], revision: 2)
        let one = WorkOrderCodec.encode(order)
        #expect(!one.isEmpty)
        #expect(
            WorkOrderCodec.encodeList([order, order]) == [0x0A, UInt8(one.count)] + one + [0x0A, UInt8(one.count)] + one
        )
        #expect(WorkOrderCodec.encodeList([]) == [])
    }
}
