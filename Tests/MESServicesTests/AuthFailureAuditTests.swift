import Foundation
import GenealogyStore
import Logging
import Testing

@testable import MESServices

/// Authentication failures in the audit trail: written up to the budget, the rest counted and
/// the count written with the next entry and by `flush()`.
@Suite struct AuthFailureAuditTests {
    @Test func aBruteForceIsCountedNotWrittenEntryByEntry() async throws {
        let directory = NSTemporaryDirectory() + "mesgate-authaudit-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let store = try GenealogyStore.open(directory: directory, logger: logger)
        defer { store.close() }
        let audit = AuthFailureAudit(store: store, maxEntries: 3, window: .milliseconds(300), logger: logger)
        for i in 0..<10 {
            audit.record(
                peer: "[IPv4]10.0.0.9/10.0.0.9:\(4000 + i)", method: "/mes.v1.EventIngest/Publish",
                reason: "unknown_token", status: "UNAUTHENTICATED", atMs: Int64(i))
        }
        try await Task.sleep(for: .milliseconds(350))
        // A new window: written, with the count of the seven kept out.
        audit.record(
            peer: "[IPv4]10.0.0.9/10.0.0.9:5000", method: "/mes.v1.Quality/PlaceHold", reason: "missing_token",
            status: "UNAUTHENTICATED", atMs: 20)
        for i in 0..<5 {
            audit.record(
                peer: "[IPv4]10.0.0.9/10.0.0.9:6000", method: "/mes.v1.Quality/PlaceHold", reason: "missing_token",
                status: "UNAUTHENTICATED", atMs: 30 + Int64(i))
        }
        await audit.flush()
        await audit.flush()  // nothing left to write
        let entries = try AuditTrail(path: store.path).entries(limit: 100)
        #expect(entries.map(\.action) == Array(repeating: "auth_failure", count: 7))
        #expect(entries.prefix(3).allSatisfy { $0.actor == "[IPv4]10.0.0.9/10.0.0.9" && $0.reason == "unknown_token" })
        #expect(entries[3].detail == "grpc-status UNAUTHENTICATED; 7 earlier failure(s) not written (rate limit)")
        #expect(entries[3].subject == "/mes.v1.Quality/PlaceHold")
        #expect(entries[6].reason == "suppressed" && entries[6].detail.hasPrefix("3 failure(s) not written"))
        #expect(try AuditTrail(path: store.path).verify().problem == nil)
    }
}
