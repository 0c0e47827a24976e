import Foundation
import GenealogyStore
import Logging
import Testing

@testable import AdminServer

/// `/readyz` answers from memory: what the process knows (serving, draining) and the store's
/// condition (commits failing, damage found); it never reads a table, so its cost does not grow
/// with the store and a store that cannot be read does not slow it.
@Suite struct ReadinessTests {
    final class OpenStore {
        let directory = (NSTemporaryDirectory() as NSString).appendingPathComponent("mesgate-ready-\(UUID())")
        let store: GenealogyStore

        init() throws {
            store = try GenealogyStore.open(
                directory: directory, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        }

        deinit {
            store.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    static func body(_ response: AdminResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test func readyzReadsNoTable() async throws {
        let open = try OpenStore()
        let routes = GatewayAdminRoutes(store: open.store, metrics: GatewayMetrics()) { StatusPageTests.live() }
        #expect(await routes.respond(to: "/readyz").status == .ok)
        // Its read connections gone, the store answers no query: /readyz does not ask it any.
        open.store.close()
        #expect(throws: (any Error).self) { try open.store.statusCounts() }
        let answer = await routes.respond(to: "/readyz")
        #expect(answer.status == .ok, "\(Self.body(answer))")
    }

    @Test func readyzSaysWhyTheStoreTakesNoWrites() async throws {
        let open = try OpenStore()
        let routes = GatewayAdminRoutes(store: open.store, metrics: GatewayMetrics()) { StatusPageTests.live() }
        open.store.condition.recordDamage(
            IntegrityReport(
                depth: .full, problems: ["row 7 missing from index sqlite_autoindex_events_1"], finished: true,
                seconds: 1))
        let answer = await routes.respond(to: "/readyz")
        #expect(answer.status == .serviceUnavailable)
        #expect(Self.body(answer).contains("store damaged: integrity_check reported: row 7 missing"))
        let metrics = Self.body(await routes.respond(to: "/metrics"))
        #expect(metrics.contains("mesgate_store_damaged 1") && metrics.contains("mesgate_store_writable 0"))
    }
}
