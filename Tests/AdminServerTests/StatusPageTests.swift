import GenealogyStore
import MESDomain
import Testing

@testable import AdminServer

@Suite struct StatusPageTests {
    static func live(serving: Bool = true, auth: Bool = true) -> LiveStatus {
        LiveStatus(
            serving: serving, authenticationEnabled: auth, grpcListen: "127.0.0.1:50051", tls: "TLS",
            startedAtMs: 0, recentAuthFailures: [],
            odoo: LiveStatus.OdooPosting(url: "https://erp.example.com", pausedUntilMs: nil))
    }

    @Test func allGoodSaysSo() {
        var figures = StoreFigures()
        figures.readable = true
        figures.serving = true
        let page = StatusPage(
            live: Self.live(), figures: figures, waiting: [], exceptions: [], holds: [], nowMs: 60_000)
        #expect(page.concerns.isEmpty)
        #expect(page.html().contains("Everything is running normally"))
    }

    @Test func deadLettersAndDrainingNeedAttention() {
        var figures = StoreFigures()
        figures.readable = true
        figures.outbox = ["dead": 2, "pending": 5]
        let waiting = [
            OutboxWaiting(
                id: 1, kind: "mrp.production", documentKey: "<script>alert(1)</script>", state: "dead", attempts: 9,
                lastError: "Odoo said 500", createdAtMs: 0, nextAttemptAtMs: 0)
        ]
        let page = StatusPage(
            live: Self.live(serving: false), figures: figures, waiting: waiting, exceptions: [], holds: [],
            nowMs: 600_000)
        #expect(page.concerns.filter { $0.level == StatusPage.Concern.Level.bad }.count == 2)
        let html = page.html()
        #expect(html.contains("Needs attention now"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!html.contains("<script>"))
    }

    @Test func aClientSilentForTenMinutesIsPointedOut() {
        var live = Self.live()
        live.clients = [
            LiveStatus.ClientActivity(
                client: "line-3", lastCallAtMs: 0, lastMethod: "/mes.v1.EventIngest/Publish", calls: 9),
            LiveStatus.ClientActivity(client: "line-4", lastCallAtMs: 590_000, lastMethod: "/x/y", calls: 1),
        ]
        var figures = StoreFigures()
        figures.readable = true
        let page = StatusPage(live: live, figures: figures, waiting: [], exceptions: [], holds: [], nowMs: 700_000)
        #expect(page.concerns.map(\.text) == ["No call for over 10 minutes from: line-3."])
        #expect(page.html().contains("<td>line-4</td>"))
    }

    @Test func odooPostingOffOrPausedIsSaid() {
        var figures = StoreFigures()
        figures.readable = true
        var live = Self.live()
        live.odoo = nil
        let off = StatusPage(live: live, figures: figures, waiting: [], exceptions: [], holds: [], nowMs: 60_000)
        #expect(off.concerns.map(\.text).contains { $0.hasPrefix("Posting to Odoo is off (no odoo-url)") })
        live.odoo = LiveStatus.OdooPosting(url: "https://erp.example.com", pausedUntilMs: 90_000)
        let paused = StatusPage(live: live, figures: figures, waiting: [], exceptions: [], holds: [], nowMs: 60_000)
        #expect(paused.concerns.first?.level == .bad)
        #expect(paused.concerns.first?.text.contains("Odoo refused mesgate's API key") == true)
        let later = StatusPage(live: live, figures: figures, waiting: [], exceptions: [], holds: [], nowMs: 100_000)
        #expect(later.concerns.isEmpty)
        live.hub = LiveStatus.Hub(servers: "nats://hub:4222", connected: true, problem: nil, plants: [], holds: [])
        live.odoo = nil
        let hub = StatusPage(live: live, figures: figures, waiting: [], exceptions: [], holds: [], nowMs: 60_000)
        #expect(hub.concerns.isEmpty)
    }

    @Test func theHubShowsItsPlantsAndWhereItsHoldsStand() {
        var figures = StoreFigures()
        figures.readable = true
        var live = Self.live()
        let plants = [
            HubPlant(
                plant: "PLANT-A", storeID: "s1", lastSequence: 120, applied: 118, appliedAtMs: 55_000, openHolds: 1,
                deadLetters: 0),
            HubPlant(
                plant: "PLANT-<B>", storeID: "s2", lastSequence: 7, applied: 7, appliedAtMs: 50_000, openHolds: 0,
                deadLetters: 2),
        ]
        let applied = HoldDelivery(
            holdID: 4, plant: "PLANT-A", lots: 2, appliedAtMs: 58_000, releaseSent: false, releaseAppliedAtMs: nil)
        var waiting = applied
        waiting.plant = "PLANT-<B>"
        waiting.appliedAtMs = nil
        live.hub = LiveStatus.Hub(
            servers: "nats://hub:4222", connected: true, problem: nil, plants: plants, holds: [applied, waiting])
        let page = StatusPage(live: live, figures: figures, waiting: [], exceptions: [], holds: [], nowMs: 60_000)
        let texts = page.concerns.map(\.text)
        #expect(texts.contains { $0.hasPrefix("2 plant message(s) could not be applied") })
        #expect(
            texts.contains(
                "Hold 4 is not applied at plant PLANT-<B> yet: its shipments there are not stopped until it is."))
        let html = page.html()
        #expect(html.contains("<td>PLANT-A</td><td>118</td><td>120</td>"))
        #expect(html.contains("PLANT-&lt;B&gt;") && !html.contains("PLANT-<B>"))
        #expect(html.contains("<td>not yet</td>"))

        live.hub?.connected = false
        live.hub?.problem = "no server"
        let cut = StatusPage(live: live, figures: figures, waiting: [], exceptions: [], holds: [], nowMs: 60_000)
        #expect(cut.concerns.first?.level == .bad)
        #expect(
            cut.concerns.first?.text.contains("Not connected to the hub's JetStream (nats://hub:4222): no server")
                == true)
    }

    @Test func replicationBehindCutOrStoppedIsSaid() {
        var figures = StoreFigures()
        figures.readable = true
        var live = Self.live()
        func page(_ replication: LiveStatus.Replication) -> StatusPage {
            live.replication = replication
            return StatusPage(live: live, figures: figures, waiting: [], exceptions: [], holds: [], nowMs: 60_000)
        }
        let fine = page(
            .init(plant: "A", servers: "nats://hub:4222", connected: true, lagEvents: 3, lagSeconds: 0.2, problem: nil))
        #expect(fine.concerns.isEmpty && fine.html().contains("Not yet replicated (plant A)"))
        let cut = page(
            .init(plant: "A", servers: "nats://hub:4222", connected: false, lagEvents: 40, lagSeconds: 9, problem: nil))
        #expect(
            cut.concerns.map(\.text) == [
                "Not connected to NATS (nats://hub:4222): 40 event(s) wait to be replicated; nothing is lost, they leave when the link is back."
            ])
        let behind = page(
            .init(plant: "A", servers: "s", connected: true, lagEvents: 900, lagSeconds: 120, problem: nil))
        #expect(behind.concerns.first?.text.hasPrefix("Replication to the hub is 2 min behind") == true)
        let stopped = page(
            .init(plant: "A", servers: "s", connected: true, lagEvents: 1, lagSeconds: 1, problem: "another store"))
        #expect(stopped.concerns.first?.level == .bad)
    }

    @Test func escapesEveryMarkupCharacter() {
        #expect(StatusPage.escape("a&b<c>\"d'") == "a&amp;b&lt;c&gt;&quot;d&#39;")
    }

    @Test func openHoldsAreListedWithWhatTheyCover() {
        var figures = StoreFigures()
        figures.readable = true
        figures.held = 7
        let hold = OpenHold(
            id: 3, root: LotRef(product: "STEEL", lot: "L-42"), reason: "supplier recall <b>", placedBy: "qa-anna",
            placedAtMs: 0, items: 7)
        let page = StatusPage(
            live: StatusPageTests.live(), figures: figures, waiting: [], exceptions: [], holds: [hold], nowMs: 120_000)
        let html = page.html()
        #expect(html.contains("STEEL lot L-42"))
        #expect(html.contains("supplier recall &lt;b&gt;"))
        #expect(html.contains("qa-anna"))
        #expect(html.contains(">7<"))
        #expect(!html.contains("Nothing is held."))
        let empty = StatusPage(
            live: StatusPageTests.live(), figures: StoreFigures(), waiting: [], exceptions: [], holds: [], nowMs: 0)
        #expect(empty.html().contains("Nothing is held."))
    }
}

@Suite struct SkippedRowsTests {
    /// Skipped rows have a card of their own (not among the posted ones, nor the failing ones).
    @Test func skippedRowsAreCountedApart() {
        var figures = StoreFigures()
        figures.readable = true
        figures.outbox = ["posted": 5, "skipped": 2]
        let html = StatusPage(
            live: StatusPageTests.live(), figures: figures, waiting: [], exceptions: [], holds: [], nowMs: 0
        ).html()
        #expect(html.contains(#"<div class="value">2</div><div class="title">Skipped by hand (never sent to Odoo)"#))
        figures.outbox = ["posted": 5]
        let none = StatusPage(
            live: StatusPageTests.live(), figures: figures, waiting: [], exceptions: [], holds: [], nowMs: 0
        ).html()
        #expect(!none.contains("Skipped by hand"))
    }
}

@Suite struct GatewayMetricsTests {
    @Test func exportsStoreGaugesWithEveryOutboxState() {
        let metrics = GatewayMetrics()
        var figures = StoreFigures()
        figures.queueDepth = 7
        figures.outbox = ["pending": 3]
        figures.exceptions = ["unknown_lot": 2]
        figures.held = 4
        figures.outboxCommands = ["replay": 1]
        let text = String(decoding: metrics.exposition(figures), as: UTF8.self)
        #expect(text.contains("mesgate_store_queue_depth 7"))
        #expect(text.contains(#"mesgate_outbox_rows{state="pending"} 3"#))
        #expect(text.contains(#"mesgate_outbox_rows{state="dead"} 0"#))
        #expect(text.contains(#"mesgate_outbox_rows{state="skipped"} 0"#))
        #expect(text.contains(#"mesgate_exceptions{kind="unknown_lot"} 2"#))
        #expect(text.contains("mesgate_held_items 4"))
        #expect(text.contains(#"mesgate_outbox_commands{action="replay"} 1"#))
    }
}

@Suite struct DeadLettersByOrderTests {
    @Test func deadLettersAreGroupedByOrderWithTheirIdsAndTheCommandsThatSettleThem() {
        var figures = StoreFigures()
        figures.readable = true
        func dead(_ id: Int64, _ order: String, _ kind: String, at: Int64, error: String) -> OutboxWaiting {
            OutboxWaiting(
                id: id, kind: kind, documentKey: order, state: "dead", attempts: 5, lastError: error, createdAtMs: at,
                nextAttemptAtMs: 0)
        }
        let waiting = [
            dead(12, "mo:WH/MO/00012", "consumed", at: 1_000, error: "STEEL is not a component"),
            dead(15, "mo:WH/MO/00012", "produced", at: 2_000, error: "order totals refused"),
            dead(20, "hold:3", "hold", at: 500, error: "no lot R-9 in Odoo"),
            OutboxWaiting(
                id: 30, kind: "produced", documentKey: "mo:WH/MO/00013", state: "failed", attempts: 1,
                lastError: "timeout", createdAtMs: 3_000, nextAttemptAtMs: 9_000),
        ]
        let html = StatusPage(
            live: StatusPageTests.live(), figures: figures, waiting: waiting, exceptions: [], holds: [], nowMs: 60_000
        ).html()
        #expect(html.contains("<h2>Dead letters by order</h2>"))
        // Oldest group first; one row per order with every id; a failed (not dead) row is not a dead letter.
        let hold = html.range(of: "<td>hold:3</td>")
        let order = html.range(of: "<td>mo:WH/MO/00012</td><td>#12, #15</td><td>consumed, produced</td>")
        #expect(hold != nil && order != nil)
        if let hold, let order { #expect(hold.lowerBound < order.lowerBound) }
        #expect(html.contains("mesgate outbox retry 12 15 (once fixed in Odoo)"))
        #expect(!html.contains("<td>mo:WH/MO/00013</td><td>#30"))
    }
}

@Suite struct OpenExceptionsTests {
    /// Open exceptions are listed under the cards, newest first, with what to do; an immediate kind
    /// open is a bad concern; metrics read 0 for kinds with none.
    @Test func openExceptionsAreListedWithWhatToDo() {
        var figures = StoreFigures()
        figures.readable = true
        figures.openExceptions = ["machine_stopped": 1]
        figures.acknowledgedExceptions = ["unknown_lot": 1]
        var stop = PlantException(
            id: 9, kind: "machine_stopped", state: .open, latency: "immediate", createdAtMs: 0)
        stop.workOrder = "MO<7>"
        stop.detail = "PRESS-2 stopped"
        var lot = PlantException(id: 4, kind: "unknown_lot", state: .acknowledged, latency: "normal", createdAtMs: 0)
        lot.acknowledgedBy = "ana"
        lot.lot = "SEAL lot SE-311"
        let html = StatusPage(
            live: StatusPageTests.live(), figures: figures, waiting: [], exceptions: [stop, lot], holds: [],
            nowMs: 120_000
        ).html()
        #expect(html.contains("Open exceptions need someone now: 1 machine_stopped"))
        #expect(
            html.contains("MO&lt;7&gt;") && html.contains("acknowledged by ana") && html.contains("SEAL lot SE-311"))
        #expect(html.contains(ExceptionKind.machineStopped.action.replacingOccurrences(of: "'", with: "&#39;")))
        let section = html.range(of: "Open exceptions (newest first)")
        let failing = html.range(of: "What is failing")
        #expect(section != nil && failing != nil && section!.lowerBound < failing!.lowerBound)
        #expect(html.range(of: "machine_stopped</td>")!.lowerBound < html.range(of: "unknown_lot</td>")!.lowerBound)

        let text = String(decoding: GatewayMetrics().exposition(figures), as: UTF8.self)
        #expect(text.contains(#"mesgate_exceptions_open{kind="machine_stopped"} 1"#))
        #expect(text.contains(#"mesgate_exceptions_open{kind="quality_alert"} 0"#))
        #expect(text.contains(#"mesgate_exceptions_acknowledged{kind="unknown_lot"} 1"#))
    }
}
