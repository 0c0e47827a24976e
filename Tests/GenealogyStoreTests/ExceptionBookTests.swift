import Foundation
import GenealogyStore
import MESDomain
import Synchronization
import Testing

@Suite struct ExceptionBookTests {
    /// Collects what the store tells its exception listeners, after each commit.
    final class Heard: Sendable {
        private let changes = Mutex<[PlantException]>([])
        func add(_ more: [PlantException]) { changes.withLock { $0 += more } }
        var all: [PlantException] { changes.withLock { $0 } }
    }

    func stop(_ id: String, startedAtMs: Int64, endedAtMs: Int64 = 0, center: String = "WC-PRESS") -> IngestRequest {
        request(
            id, workOrder: "MO7", workCenter: center,
            .downtime(.init(reason: "jam", loss: .availability, startedAtMs: startedAtMs, endedAtMs: endedAtMs)))
    }

    @Test func aDowntimeWithoutEndRaisesMachineStoppedItsEndClosesIt() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let heard = Heard()
        store.watchExceptions { heard.add($0) }

        _ = await store.ingest([stop("d1", startedAtMs: 1_000), stop("d1-again", startedAtMs: 1_000)])
        let raised = try store.exceptionList(limit: 10)
        #expect(raised.count == 1, "a second report of the same stop raises nothing more")
        let x = try #require(raised.first)
        #expect(x.kind == "machine_stopped" && x.state == .open && x.latency == "immediate")
        #expect(x.workOrder == "MO7" && x.workCenter == "WC-PRESS" && x.eventID == "d1")
        #expect(x.detail.hasPrefix("WC-PRESS stopped since"))
        #expect(heard.all.map(\.id) == [x.id])
        #expect(try store.statusCounts().openExceptions == ["machine_stopped": 1])
        // Immediate and naming an order: an Odoo activity row in the outbox.
        #expect(
            try store.count(
                "SELECT count(*) FROM outbox WHERE exception_id = ?1 AND kind = 'exception'", [.integer(x.id)]) == 1)

        // Another work center's end closes nothing; this one's does.
        _ = await store.ingest([stop("d2", startedAtMs: 1_000, endedAtMs: 5_000, center: "WC-OTHER")])
        #expect(try store.exception(id: x.id)?.state == .open)
        _ = await store.ingest([stop("d1-end", startedAtMs: 1_000, endedAtMs: 9_000)])
        let closed = try #require(try store.exception(id: x.id))
        #expect(closed.state == .closed && closed.closedBy == "mesgate" && closed.closeReason.contains("d1-end"))
        #expect(heard.all.last?.state == .closed)
        #expect(try store.statusCounts().openExceptions.isEmpty)
        #expect(try store.exceptionList(limit: 10).isEmpty)
        #expect(try store.exceptionList(includeClosed: true, limit: 10).count == 1)
        #expect(
            try store.count(
                "SELECT count(*) FROM outbox WHERE exception_id = ?1 AND kind = 'exception_closed'", [.integer(x.id)])
                == 1)
        // Both rows are counted where /metrics reads the outbox (by the book, no trigger: version 19).
        #expect(try store.statusCounts().outbox == (try store.outboxCounts()))
        try fixture.expectAuditIntact()
    }

    @Test func aPersonAcknowledgesAndClosesAuditedAndTheCountsFollow() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        _ = await store.ingest([stop("d1", startedAtMs: 1_000)])
        let id = try #require(try store.exceptionList(limit: 1).first?.id)

        guard case .changed(let acked) = await store.acknowledgeException(id, by: "ana", reason: "on my way") else {
            Issue.record("not acknowledged")
            return
        }
        #expect(acked.state == .acknowledged && acked.acknowledgedBy == "ana" && acked.acknowledgeReason == "on my way")
        var counts = try store.statusCounts()
        #expect(counts.openExceptions.isEmpty && counts.acknowledgedExceptions == ["machine_stopped": 1])
        guard case .refused = await store.acknowledgeException(id, by: "bo", reason: "me too") else {
            Issue.record("acknowledged twice")
            return
        }
        guard case .changed(let closed) = await store.closeException(id, by: "ana", reason: "belt replaced") else {
            Issue.record("not closed")
            return
        }
        #expect(closed.state == .closed && closed.closedBy == "ana" && closed.acknowledgedBy == "ana")
        guard case .refused = await store.closeException(id, by: "ana", reason: "again") else {
            Issue.record("closed twice")
            return
        }
        guard case .notFound = await store.closeException(9_999, by: "ana", reason: "?") else {
            Issue.record("closed a missing one")
            return
        }
        counts = try store.statusCounts()
        #expect(counts.openExceptions.isEmpty && counts.acknowledgedExceptions.isEmpty)
        #expect(counts.exceptions == ["machine_stopped": 1])

        let entries = try AuditTrail(path: fixture.path).entries(limit: 100).filter {
            $0.subject.hasPrefix("exception:")
        }
        #expect(entries.map(\.action) == ["exception_acknowledged", "exception_closed"])
        #expect(entries.map(\.actor) == ["ana", "ana"] && entries.last?.reason == "belt replaced")
        #expect(entries.allSatisfy { !$0.recordDigest.isEmpty })
        try fixture.expectAuditIntact()

        // Changing a closed exception behind mesgate's back is found.
        store.close()
        let db = try fixture.rawConnection()
        try db.run("UPDATE exceptions SET close_reason = 'nothing happened' WHERE id = ?1", [.integer(id)])
        let problem = try AuditTrail(path: fixture.path).verify().problem
        #expect(problem?.message.contains("exception \(id) differs from its audit digest") == true)
    }

    @Test func aFailedCheckRaisesAQualityAlertAPassClosesIt() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let fail = QualityResult(
            lot: lot("JAM", "J1"), check: "brix", outcome: .fail,
            measurements: [.init(name: "brix", value: 58, unit: "%", lower: 60, upper: 65)])
        _ = await store.ingest([request("q1", workOrder: "MO2", .quality(fail))])
        let x = try #require(try store.exceptionList(limit: 1).first)
        #expect(x.kind == "quality_alert" && x.lot == "JAM lot J1" && x.workOrder == "MO2")
        #expect(x.detail.contains("brix 58.0% outside 60.0–65.0"))
        var pass = fail
        pass.outcome = .pass
        _ = await store.ingest([request("q2", workOrder: "MO2", .quality(pass))])
        #expect(try store.exception(id: x.id)?.state == .closed)
        try fixture.expectAuditIntact()
    }

    @Test func aCorrectionClosesWhatTheEventRaisedInsteadOfDeletingIt() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let heard = Heard()
        store.watchExceptions { heard.add($0) }
        let typo = request(
            "c1", workOrder: "MO1", .consumed(.init(component: lot("SEAL", "SE-311"), qty: qty(1))))
        _ = await store.ingest([typo])
        let x = try #require(try store.exceptionList(limit: 1).first)
        #expect(x.kind == "unknown_lot" && x.latency == "normal" && x.lot == "SEAL lot SE-311")
        // Not immediate: no Odoo activity.
        #expect(try store.count("SELECT count(*) FROM outbox WHERE exception_id IS NOT NULL") == 0)

        let outcome = await store.correct(
            CorrectionRequest(eventID: "c1", reason: "typo of SE-310", by: "ana"), decode: { _ in typo.event })
        guard case .corrected(let correction) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        let closed = try #require(try store.exception(id: x.id))
        #expect(closed.state == .closed && closed.closedBy == "ana")
        #expect(closed.closeReason == "closed by correction \(correction.id): typo of SE-310")
        #expect(heard.all.map(\.state) == [.open, .closed])
        try fixture.expectAuditIntact()
    }

    @Test func aRolledBackEventTellsNobody() async throws {
        let fixture = StoreFixture()
        let store = try fixture.open()
        defer { store.close() }
        let heard = Heard()
        store.watchExceptions { heard.add($0) }
        // The second event reuses the first one's id with another body: refused, rolled back alone.
        let outcomes = await store.ingestInOneBatch([
            stop("d1", startedAtMs: 1_000), stop("d1", startedAtMs: 2_000),
        ])
        #expect(outcomes.compactMap(\.sequence).count == 2)  // the holding event and d1
        #expect(heard.all.count == 1 && heard.all.first?.eventID == "d1")
        #expect(try store.exceptionList(limit: 10).count == 1)
    }

    @Test func everyKindHasALatencyDestinationsAndAnAction() {
        for kind in ExceptionKind.allCases {
            #expect(!kind.action.isEmpty)
            #expect(kind.destinations.isSuperset(of: [.stream, .metric, .statusPage]))
            #expect(kind.destinations.contains(.odooActivity) == (kind.latency == .immediate))
        }
        #expect(ExceptionKind.invalidLotReference == .unknownLot)
        #expect(ExceptionKind(rawValue: "machine_stopped")?.latency == .immediate)
    }
}
