import Foundation
import GenealogyStore
import MESDomain

/// The plant supervisor's page: first what needs attention, in plain words, then the lists behind
/// it (what is failing, what waits for Odoo, doubtful events, refused calls). Refreshes itself
/// every 30 s. Every value from the store is HTML-escaped.
struct StatusPage {
    var live: LiveStatus
    var figures: StoreFigures
    var waiting: [OutboxWaiting]
    /// Exceptions not closed, newest first.
    var exceptions: [PlantException]
    var holds: [OpenHold]
    var nowMs: Int64

    /// A short sentence that needs a person, with its severity.
    struct Concern {
        enum Level: String { case bad, warn }
        var level: Level
        var text: String
    }

    var concerns: [Concern] {
        var found: [Concern] = []
        if !live.serving {
            found.append(Concern(level: .bad, text: "The gateway is not serving (starting or shutting down)."))
        }
        if let problem = figures.storeProblem {
            found.append(Concern(level: .bad, text: "The store takes no writes (readiness 503): \(problem)."))
        }
        if figures.readable == false { found.append(Concern(level: .bad, text: "The store cannot be read.")) }
        if !live.isHub {
            if let odoo = live.odoo {
                if let until = odoo.pausedUntilMs, until > nowMs {
                    found.append(
                        Concern(
                            level: .bad,
                            text:
                                "Posting to Odoo is paused until \(Self.time(until)): Odoo refused mesgate's API key (check odoo-login and odoo-api-key)."
                        ))
                }
            } else {
                found.append(
                    Concern(
                        level: .warn,
                        text:
                            "Posting to Odoo is off (no odoo-url): what the plant reports waits in the outbox and is posted once it is set."
                    ))
            }
        }
        let dead = figures.outbox["dead"] ?? 0
        if dead > 0 {
            found.append(
                Concern(
                    level: .bad,
                    text: "\(dead) message(s) to Odoo gave up after retries (dead letters): someone must look at them.")
            )
        }
        let failed = figures.outbox["failed"] ?? 0
        if failed > 0 {
            found.append(Concern(level: .warn, text: "\(failed) message(s) to Odoo failed and will be retried."))
        }
        if let age = figures.oldestWaitingAgeSeconds, age > 300 {
            found.append(
                Concern(level: .warn, text: "The oldest message waiting for Odoo is \(Self.duration(age)) old."))
        }
        // Open exceptions: immediate kinds need someone now, others a check.
        let open = figures.openExceptions
        let urgent = open.filter { ExceptionKind(rawValue: $0.key)?.latency == .immediate }
        if !urgent.isEmpty {
            let kinds = urgent.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            found.append(Concern(level: .bad, text: "Open exceptions need someone now: \(kinds) (see below)."))
        }
        let others = open.filter { ExceptionKind(rawValue: $0.key)?.latency != .immediate }.values.reduce(0, +)
        if others > 0 {
            found.append(
                Concern(level: .warn, text: "\(others) open exception(s) (doubtful stored events) need a check."))
        }
        let silent = live.clients.filter { nowMs - $0.lastCallAtMs > Self.silentAfterMs }
        if !silent.isEmpty {
            found.append(
                Concern(
                    level: .warn,
                    text: "No call for over 10 minutes from: \(silent.map(\.client).sorted().joined(separator: ", ")).")
            )
        }
        if !live.recentAuthFailures.isEmpty {
            found.append(
                Concern(
                    level: .warn,
                    text:
                        "\(live.recentAuthFailures.count) call(s) were refused recently (bad or missing token, or wrong role)."
                ))
        }
        if let replication = live.replication {
            if let problem = replication.problem {
                found.append(Concern(level: .bad, text: "Replication to the hub is stopped: \(problem)."))
            } else if !replication.connected {
                found.append(
                    Concern(
                        level: .warn,
                        text:
                            "Not connected to NATS (\(replication.servers)): \(replication.lagEvents) event(s) wait to be replicated; nothing is lost, they leave when the link is back."
                    ))
            } else if replication.lagSeconds > Self.replicationLagWarnSeconds {
                found.append(
                    Concern(
                        level: .warn,
                        text:
                            "Replication to the hub is \(Self.duration(replication.lagSeconds)) behind (\(replication.lagEvents) event(s))."
                    ))
            }
        }
        if let hub = live.hub {
            if !hub.connected {
                found.append(
                    Concern(
                        level: .bad,
                        text:
                            "Not connected to the hub's JetStream (\(hub.servers))\(hub.problem.map { ": \($0)" } ?? ""): plants' events wait in their streams."
                    ))
            } else if let problem = hub.problem {
                found.append(Concern(level: .bad, text: "Plant streams are not being applied: \(problem)."))
            }
            let dead = hub.plants.reduce(0) { $0 + $1.deadLetters }
            if dead > 0 {
                found.append(
                    Concern(
                        level: .warn,
                        text:
                            "\(dead) plant message(s) could not be applied and were set aside (dead letters); the rest of each stream went on."
                    ))
            }
            for delivery in hub.holds where delivery.appliedAtMs == nil {
                found.append(
                    Concern(
                        level: .warn,
                        text:
                            "Hold \(delivery.holdID) is not applied at plant \(delivery.plant) yet: its shipments there are not stopped until it is."
                    ))
            }
        }
        if !live.authenticationEnabled {
            found.append(
                Concern(level: .warn, text: "No token file: every client may call everything (development only)."))
        }
        return found
    }

    func html() -> String {
        // What needs attention now first, each group in the order found.
        let concerns = self.concerns.filter { $0.level == .bad } + self.concerns.filter { $0.level == .warn }
        let worst = concerns.contains { $0.level == .bad } ? "bad" : concerns.isEmpty ? "good" : "warn"
        let headline =
            worst == "good"
            ? "Everything is running normally"
            : worst == "bad" ? "Needs attention now" : "Running, with things to check"
        let pending = figures.outbox["pending"] ?? 0
        let failed = figures.outbox["failed"] ?? 0
        let dead = figures.outbox["dead"] ?? 0
        var out = """
            <!doctype html><html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="30"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>mesgate status</title><style>\(Self.style)</style></head><body>
            <header><h1>mesgate</h1><span class="sub">\(live.isHub ? "enterprise hub over \(live.hub?.plants.count ?? 0) plant(s)" : "MES → Odoo gateway") · \(e(live.grpcListen)) · \(e(live.tls)) · up \(Self.duration(Double(nowMs - live.startedAtMs) / 1000)) · \(e(Self.time(nowMs)))</span></header>
            <section class="banner \(worst)"><h2>\(headline)</h2>
            """
        if concerns.isEmpty {
            out += "<p>Events are being stored and nothing waits for a person.</p>"
        } else {
            out += "<ul>" + concerns.map { "<li class=\"\($0.level.rawValue)\">\(e($0.text))</li>" }.joined() + "</ul>"
        }
        out += "</section><section class=\"cards\">"
        out += card("Gateway", live.serving ? "Serving" : "Not serving", live.serving ? "good" : "bad")
        out += card("Events waiting to be stored", "\(figures.queueDepth)", figures.queueDepth > 1000 ? "warn" : "good")
        out += card("Waiting for Odoo", "\(pending + failed)", failed > 0 ? "warn" : "good")
        out += card("Dead letters", "\(dead)", dead > 0 ? "bad" : "good")
        let skipped = figures.outbox[OutboxState.skipped.rawValue] ?? 0
        if skipped > 0 { out += card("Skipped by hand (never sent to Odoo)", "\(skipped)", "good") }
        let openCount = figures.openExceptions.values.reduce(0, +)
        let acknowledged = figures.acknowledgedExceptions.values.reduce(0, +)
        out += card(
            "Open exceptions", "\(openCount)" + (acknowledged > 0 ? " · \(acknowledged) acknowledged" : ""),
            openCount > 0 ? (urgentOpen ? "bad" : "warn") : "good")
        out += card("Held lots, serials, containers", "\(figures.held)", figures.held > 0 ? "warn" : "good")
        if let replication = live.replication {
            let level =
                replication.problem != nil
                ? "bad"
                : !replication.connected || replication.lagSeconds > Self.replicationLagWarnSeconds ? "warn" : "good"
            out += card(
                "Not yet replicated (plant \(replication.plant))",
                "\(replication.lagEvents)"
                    + (replication.lagEvents > 0 ? " · \(Self.duration(replication.lagSeconds))" : ""),
                level)
        }
        if let hub = live.hub {
            out += card(
                "Plants", "\(hub.plants.count)", !hub.connected || hub.problem != nil ? "bad" : "good")
        }
        out += "</section>"
        if let hub = live.hub { out += plantsSection(hub) }

        // What supervisors act on first: the open exceptions, right under the cards.
        out += "<h2>Open exceptions (newest first)</h2>"
        if !figures.exceptions.isEmpty {
            out +=
                "<p class=\"counts\">Raised since the store began: "
                + figures.exceptions.sorted { $0.key < $1.key }.map { "<b>\(e($0.key))</b> \($0.value)" }.joined(
                    separator: " · ") + "</p>"
        }
        out += table(
            ["#", "Kind", "State", "Order", "Work center", "Lot", "Detail", "Age", "What to do"],
            exceptions.prefix(50).map {
                [
                    "\($0.id)", $0.kind,
                    $0.state == .acknowledged ? "acknowledged by \($0.acknowledgedBy)" : $0.state.rawValue,
                    $0.workOrder, $0.workCenter, $0.lot, $0.detail, Self.ago(nowMs - $0.createdAtMs), $0.action,
                ]
            },
            empty: "No open exceptions.")
        out += deadLettersByOrder()
        let failing = waiting.filter { $0.state != "pending" }
        out += "<h2>What is failing</h2>"
        out += table(
            ["State", "Message", "Document", "Attempts", "Last error", "Waiting since"],
            failing.map {
                [$0.state, $0.kind, $0.documentKey, "\($0.attempts)", $0.lastError, Self.ago(nowMs - $0.createdAtMs)]
            },
            empty: "Nothing is failing.")
        out += "<h2>What waits for Odoo</h2>"
        out += table(
            ["Message", "Document", "Attempts", "Next try", "Waiting since"],
            waiting.filter { $0.state == "pending" }.map {
                [
                    $0.kind, $0.documentKey, "\($0.attempts)", Self.time($0.nextAttemptAtMs),
                    Self.ago(nowMs - $0.createdAtMs),
                ]
            }, empty: "Nothing waits for Odoo.")
        out += "<h2>Clients</h2>"
        out += table(
            ["Client", "Last call", "Method", "Calls since start"],
            live.clients.prefix(50).map {
                [$0.client, Self.ago(nowMs - $0.lastCallAtMs), $0.lastMethod, "\($0.calls)"]
            }, empty: "No client has called since the gateway started.")
        out += "<h2>Quality holds</h2>"
        out += table(
            ["Placed on", "Reason", "By", "Items held", "Since"],
            holds.prefix(20).map {
                [$0.root.description, $0.reason, $0.placedBy, "\($0.items)", Self.ago(nowMs - $0.placedAtMs)]
            }, empty: "Nothing is held.")
        out += "<h2>Refused calls</h2>"
        out += table(
            ["When", "From", "Method", "Why"],
            live.recentAuthFailures.prefix(20).map {
                [
                    Self.ago(nowMs - $0.atMs), Self.address($0.peer), $0.method,
                    $0.reason.replacingOccurrences(of: "_", with: " "),
                ]
            },
            empty: live.authenticationEnabled ? "No refused calls." : "Authentication is off (no token file).")
        out +=
            "<footer>Machine-readable: <a href=\"/metrics\">/metrics</a> · <a href=\"/readyz\">/readyz</a> · <a href=\"/healthz\">/healthz</a></footer></body></html>\n"
        return out
    }

    /// At the hub: each plant and how far it is applied, and the hub's holds at each plant.
    private func plantsSection(_ hub: LiveStatus.Hub) -> String {
        var out = "<h2>Plants</h2>"
        out += table(
            ["Plant", "Events applied", "Last plant sequence", "Last applied", "Open holds there", "Dead letters"],
            hub.plants.map {
                [
                    $0.plant, "\($0.applied)", "\($0.lastSequence)",
                    $0.appliedAtMs > 0 ? Self.ago(nowMs - $0.appliedAtMs) : "never",
                    "\($0.openHolds)", "\($0.deadLetters)",
                ]
            }, empty: "No plant has replicated to this hub yet.")
        out += "<h2>Hub holds at the plants</h2>"
        out += table(
            ["Hold", "Plant", "Lots held there", "Applied there", "Release"],
            hub.holds.map {
                [
                    "\($0.holdID)", $0.plant, "\($0.lots)",
                    $0.appliedAtMs.map { Self.ago(nowMs - $0) } ?? "not yet",
                    !$0.releaseSent
                        ? "—"
                        : $0.releaseAppliedAtMs.map { "applied " + Self.ago(nowMs - $0) } ?? "sent, not yet applied",
                ]
            }, empty: "No hold placed at the hub is open.")
        return out
    }

    /// The dead letters, one row per order (or hold) they belong to, with the ids and the commands
    /// that settle them.
    private func deadLettersByOrder() -> String {
        let dead = waiting.filter { $0.state == "dead" }
        guard !dead.isEmpty else { return "" }
        var groups: [String: [OutboxWaiting]] = [:]
        for row in dead { groups[row.documentKey, default: []].append(row) }
        let rows = groups.sorted { ($0.value.map(\.createdAtMs).min() ?? 0) < ($1.value.map(\.createdAtMs).min() ?? 0) }
            .map { key, rows -> [String] in
                let ids = rows.map(\.id).sorted()
                let idText = ids.map { "\($0)" }.joined(separator: " ")
                let newest = rows.max { $0.createdAtMs < $1.createdAtMs }
                return [
                    key, ids.map { "#\($0)" }.joined(separator: ", "),
                    Set(rows.map(\.kind)).sorted().joined(separator: ", "), newest?.lastError ?? "",
                    Self.ago(nowMs - (rows.map(\.createdAtMs).min() ?? nowMs)),
                    "mesgate outbox retry \(idText) (once fixed in Odoo); or, for each that must never reach Odoo: mesgate outbox skip ID --reason \"…\"",
                ]
            }
        return "<h2>Dead letters by order</h2>"
            + table(
                ["Order or hold", "Rows", "Messages", "Last error", "Dead since", "What settles them"], rows,
                empty: "")
    }

    private func card(_ title: String, _ value: String, _ level: String) -> String {
        "<div class=\"card \(level)\"><div class=\"value\">\(e(value))</div><div class=\"title\">\(e(title))</div></div>"
    }

    /// Whether an exception of an immediate kind is open.
    private var urgentOpen: Bool {
        figures.openExceptions.keys.contains { ExceptionKind(rawValue: $0)?.latency == .immediate }
    }

    private func table(_ header: [String], _ rows: [[String]], empty: String) -> String {
        guard !rows.isEmpty else { return "<p class=\"muted\">\(e(empty))</p>" }
        return "<table><thead><tr>" + header.map { "<th>\(e($0))</th>" }.joined() + "</tr></thead><tbody>"
            + rows.map { "<tr>" + $0.map { "<td>\(e($0))</td>" }.joined() + "</tr>" }.joined() + "</tbody></table>"
    }

    private func e(_ text: String) -> String { Self.escape(text) }

    /// A client that called before and has been silent this long is pointed out.
    static let silentAfterMs: Int64 = 600_000

    /// Replication further behind than this is a concern on the page.
    static let replicationLagWarnSeconds = 60.0

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(max(0, seconds))
        if s < 120 { return "\(s) s" }
        if s < 7200 { return "\(s / 60) min" }
        if s < 172_800 { return "\(s / 3600) h" }
        return "\(s / 86400) days"
    }

    /// "[IPv4]10.0.0.5/10.0.0.5:41000" → "10.0.0.5:41000".
    static func address(_ peer: String) -> String {
        peer.split(separator: "/").last.map(String.init) ?? peer
    }

    static func ago(_ ms: Int64) -> String { duration(Double(ms) / 1000) + " ago" }

    /// The machine's local date and time with its offset: `2026-12-04 08:15:02 +01:00`.
    static func time(_ ms: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .current
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss xxx"
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    static let style = """
        body{font-family:"DejaVu Sans",system-ui,sans-serif;margin:0;padding:0 2rem 2rem;color:#1d2733;background:#f4f6f8}
        header{display:flex;align-items:baseline;gap:1rem;padding:1rem 0;border-bottom:1px solid #d5dbe1}
        header h1{margin:0;font-size:1.6rem}.sub{color:#5a6876}
        h2{font-size:1.15rem;margin:1.6rem 0 .5rem}
        .banner{border-radius:8px;padding:.8rem 1.2rem;margin-top:1rem;border-left:10px solid}
        .banner h2{margin:.2rem 0 .4rem;font-size:1.4rem}.banner ul{margin:.2rem 0;padding-left:1.2rem}
        .banner li{margin:.2rem 0;font-size:1.05rem}
        .banner.good{background:#e5f5e9;border-color:#2e8b47}.banner.warn{background:#fff4dc;border-color:#d48c00}
        .banner.bad{background:#fde6e6;border-color:#c62828}
        li.bad{color:#a01818;font-weight:bold}
        .cards{display:flex;flex-wrap:wrap;gap:1rem;margin-top:1rem}
        .card{background:#fff;border-radius:8px;padding:.8rem 1rem;min-width:11rem;border-top:6px solid #9aa5b1;box-shadow:0 1px 2px #0002}
        .card .value{font-size:1.9rem;font-weight:bold}.card .title{color:#5a6876}
        .card.good{border-color:#2e8b47}.card.warn{border-color:#d48c00}.card.bad{border-color:#c62828}
        .card.bad .value{color:#c62828}.card.muted .value{font-size:1.1rem;color:#7a8793;padding:.5rem 0}
        table{border-collapse:collapse;background:#fff;width:100%;box-shadow:0 1px 2px #0002}
        th,td{text-align:left;padding:.4rem .7rem;border-bottom:1px solid #e3e7eb;vertical-align:top}
        th{background:#e9edf1}.muted{color:#7a8793}.counts{margin:.2rem 0 .6rem}
        footer{margin-top:2rem;color:#5a6876}
        """
}
