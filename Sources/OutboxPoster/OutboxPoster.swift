import Foundation
import GenealogyStore
public import Logging
import MESDomain
import Odoo
import Synchronization

/// Drains the outbox to Odoo on a thread of its own (libcurl and SQLite block; they never run on
/// an event loop or the cooperative pool).
///
/// Each round: take the due rows; group them by Odoo document; post `immediate` and `normal`
/// rows at once, one posting per event; post `batch` rows (production, consumption, operations)
/// once per order when the oldest has waited `coalesceMs` or `coalesceMaxEvents` are waiting — one
/// posting for the whole order, with the totals of every event stored for it. One thread posts
/// everything, so postings of one document never overlap. Outcomes: posted; failed (retryable,
/// due again after an exponential backoff with jitter); dead (permanent: Odoo refused the data,
/// its message kept); an auth failure pauses posting for `authPauseMs` and is logged at error.
public final class OutboxPoster: Sendable {
    /// What other threads may read while the poster runs.
    public struct Status: Sendable {
        public var rounds = 0
        public var posted = 0
        public var failed = 0
        public var dead = 0
        public var resolved = 0
        public var authFailures = 0
        public var pausedUntilMs: Int64 = 0
    }

    private let storePath: String
    private let configuration: PosterConfiguration
    private let logger: Logger
    private let state = Mutex(Status())
    private let stopping = Atomic<Bool>(false)
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchGroup()

    public init(storePath: String, configuration: PosterConfiguration, logger: Logger) {
        self.storePath = storePath
        self.configuration = configuration
        self.logger = logger
    }

    public var status: Status { state.withLock { $0 } }

    /// The Odoo it posts to.
    public var url: String { configuration.odoo.url }

    /// Starts the poster thread.
    public func start() {
        finished.enter()
        let thread = Thread { [self] in
            run()
            finished.leave()
        }
        thread.name = "mesgate-odoo-poster"
        thread.start()
    }

    /// Lets the posting in flight finish, stops the thread and waits for it. Blocks.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        wakeup.signal()
        finished.wait()
    }

    private func run() {
        let outbox: OutboxStore
        let postings: OdooPostings
        do {
            outbox = try OutboxStore(path: storePath)
            postings = OdooPostings(
                client: try OdooClient(configuration: configuration.odoo), keepBackorders: configuration.keepBackorders)
        } catch {
            logger.critical("odoo.poster.start_failed", metadata: ["error": "\(error)"])
            return
        }
        logger.info("odoo.poster.started", metadata: ["url": "\(configuration.odoo.url)"])
        while !stopping.load(ordering: .acquiring) {
            let now = Self.nowMs()
            let paused = state.withLock { $0.pausedUntilMs > now }
            PosterMetrics.paused.record(paused ? 1 : 0)
            var worked = false
            if !paused {
                do {
                    worked = try round(outbox, postings)
                } catch {
                    logger.error("odoo.poster.store_failed", metadata: ["error": "\(error)"])
                }
            }
            if !worked { _ = wakeup.wait(timeout: .now() + .milliseconds(Int(configuration.pollMs))) }
        }
        logger.info("odoo.poster.stopped")
    }

    /// One look at the outbox; true when something was posted or failed (look again at once).
    private func round(_ outbox: OutboxStore, _ postings: OdooPostings) throws -> Bool {
        let now = Self.nowMs()
        let due = try outbox.due(nowMs: now, limit: configuration.claimLimit)
        state.withLock { $0.rounds += 1 }
        guard !due.isEmpty else { return false }
        var groups: [String: [OutboxEntry]] = [:]
        var order: [String] = []
        for entry in due {
            if groups[entry.documentKey] == nil { order.append(entry.documentKey) }
            groups[entry.documentKey, default: []].append(entry)
        }
        var worked = false
        for key in order {
            guard !stopping.load(ordering: .acquiring), let entries = groups[key] else { break }
            // Production, consumption and operations are posted together as the order's totals.
            let orderRows = entries.filter { Self.orderKinds.contains($0.kind) }
            for entry in entries where !Self.orderKinds.contains(entry.kind) && ready([entry], now: now) {
                guard try post(single: entry, outbox, postings) else { return worked }
                worked = true
            }
            if !orderRows.isEmpty && ready(orderRows, now: now) {
                guard try post(order: key, orderRows, outbox, postings) else { return worked }
                worked = true
            }
        }
        return worked
    }

    /// Event kinds posted per order, as totals.
    static let orderKinds: Set<String> = ["produced", "consumed", "operation"]

    /// The row's latency class: the configured one for its kind, else the store's.
    private func latencyClass(_ entry: OutboxEntry) -> String {
        configuration.latencyByKind[entry.kind] ?? entry.latencyClass
    }

    /// Whether rows of one document are to be posted now: any not `batch`, a retry, or a batch that
    /// has waited long enough or grown large enough.
    private func ready(_ batch: [OutboxEntry], now: Int64) -> Bool {
        if batch.contains(where: { latencyClass($0) != "batch" }) { return true }
        let oldest = batch.map(\.createdAtMs).min() ?? now
        return now - oldest >= configuration.coalesceMs || batch.count >= configuration.coalesceMaxEvents
            || batch.contains { $0.attempts > 0 }
    }

    /// Posts one immediate or normal row. False when posting is paused (auth).
    ///
    /// A hold or an exception is read, and made durable, before the posting: a store that cannot
    /// do either fails the round (logged, the row left as it is), as `due` does, instead of
    /// counting against the row's attempts. A sync that failed fails every later one until
    /// mesgate restarts (`WALFile`): the rows wait for it.
    private func post(single entry: OutboxEntry, _ outbox: OutboxStore, _ postings: OdooPostings) throws -> Bool {
        var hold: HoldPosting?
        var exception: PlantException?
        if entry.holdID != 0 && configuration.holdPosting != "none" { hold = try outbox.hold(id: entry.holdID) }
        if entry.exceptionID != 0 { exception = try outbox.exception(id: entry.exceptionID) }
        if hold != nil || exception != nil { try outbox.makeReadsDurable() }
        return try settle([entry], outbox, postings) { () throws(OdooError) -> String in
            if entry.holdID != 0 {
                guard configuration.holdPosting != "none" else { return "not posted: odoo-holds is none" }
                guard let hold else {
                    throw OdooError(
                        .permanent, name: "mesgate.NoSuchHold", message: "no hold \(entry.holdID) in the store")
                }
                return try postings.postHold(hold)
            }
            if entry.exceptionID != 0 {
                guard let exception else {
                    throw OdooError(
                        .permanent, name: "mesgate.NoSuchException",
                        message: "no exception \(entry.exceptionID) in the store")
                }
                return try postings.postException(exception)
            }
            guard let event = decode(entry.raw), let body = event.body else {
                throw OdooError(.permanent, name: "mesgate.Undecodable", message: "the stored event does not decode")
            }
            switch body {
            case .scrapped(let s): return try postings.postScrap(event, s)
            case .downtime(let d): return try postings.postDowntime(event, d)
            case .quality(let q):
                switch (configuration.qualityNotes, q.outcome) {
                case ("none", _), ("failures", .pass):
                    return "not posted: odoo-quality-notes is \(configuration.qualityNotes)"
                default:
                    return try postings.postQuality(event, q)
                }
            default:
                throw OdooError(
                    .permanent, name: "mesgate.NotPosted", message: "\(body.name) events are not posted one by one")
            }
        }
    }

    /// Posts every batch row of one document: the order's totals. False when paused (auth).
    private func post(order key: String, _ batch: [OutboxEntry], _ outbox: OutboxStore, _ postings: OdooPostings)
        throws -> Bool
    {
        let prefix = "work_order:"
        guard key.hasPrefix(prefix) else {
            return try settle(batch, outbox, postings) { () throws(OdooError) -> String in
                throw OdooError(
                    .permanent, name: "mesgate.NoWorkOrder",
                    message: "production and consumption need a work_order (the Odoo mrp.production name)")
            }
        }
        let name = String(key.dropFirst(prefix.count))
        var report: OrderReport
        do {
            report = OrderReport(events: try outbox.events(ofOrder: name))
            report.withdraw(try outbox.skippedEvents(ofOrder: name) + outbox.correctedEvents(ofOrder: name))
            try outbox.makeReadsDurable()  // the totals go to Odoo: nothing a power cut could take back
        }
        return try settle(batch, outbox, postings) { () throws(OdooError) -> String in
            try postings.postOrder(name, report: report)
        }
    }

    /// Runs one posting and records its outcome on `entries`. False when an auth failure paused posting.
    private func settle(
        _ entries: [OutboxEntry], _ outbox: OutboxStore, _ postings: OdooPostings,
        _ posting: () throws(OdooError) -> String
    ) throws -> Bool {
        let ids = entries.map(\.id)
        let requestsBefore = postings.client.requestCount
        let outcome: Result<String, OdooError>
        let started = DispatchTime.now().uptimeNanoseconds
        do throws(OdooError) {
            outcome = .success(try posting())
        } catch {
            outcome = .failure(error)
        }
        PosterMetrics.postingDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        switch outcome {
        case .success(let answer):
            try outbox.markPosted(ids, answer: answer, nowMs: Self.nowMs())
            try resolveCovered(by: entries, answer: answer, outbox)
            state.withLock { $0.posted += ids.count }
            PosterMetrics.posted.increment(by: Int64(ids.count))
            PosterMetrics.requests.increment(by: Int64(postings.client.requestCount - requestsBefore))
            logger.debug(
                "odoo.posted",
                metadata: [
                    "rows": "\(ids.count)", "answer": "\(answer)",
                    "requests": "\(postings.client.requestCount - requestsBefore)",
                ])
            return true
        case .failure(let error):
            PosterMetrics.requests.increment(by: Int64(postings.client.requestCount - requestsBefore))
            postings.forgetWrites()
            let now = Self.nowMs()
            switch error.kind {
            case .auth:
                state.withLock {
                    $0.authFailures += 1
                    $0.pausedUntilMs = now + configuration.authPauseMs
                }
                PosterMetrics.authFailures.increment()
                PosterMetrics.paused.record(1)
                logger.error(
                    "odoo.auth.failed",
                    metadata: ["error": "\(error)", "paused_ms": "\(configuration.authPauseMs)"])
                return false
            case .permanent:
                try outbox.markDead(ids, error: error.description, nowMs: now)
                state.withLock { $0.dead += ids.count }
                PosterMetrics.dead.increment(by: Int64(ids.count))
                logger.warning("odoo.posting.dead", metadata: ["rows": "\(ids.count)", "error": "\(error)"])
            case .retryable:
                let attempts = entries.map(\.attempts).max() ?? 0
                if attempts + 1 >= configuration.maxAttempts {
                    try outbox.markDead(
                        ids, error: "gave up after \(attempts + 1) attempts: \(error.description)", nowMs: now)
                    state.withLock { $0.dead += ids.count }
                    PosterMetrics.dead.increment(by: Int64(ids.count))
                } else {
                    try outbox.markFailed(
                        ids, error: error.description, nextAttemptAtMs: now + backoff(attempts: attempts), nowMs: now)
                    state.withLock { $0.failed += ids.count }
                    PosterMetrics.failed.increment(by: Int64(ids.count))
                }
                logger.info("odoo.posting.failed", metadata: ["rows": "\(ids.count)", "error": "\(error)"])
            }
            return true
        }
    }

    /// Marks resolved the dead rows that the successful posting of `entries` made good: the same
    /// order's production rows (each posting writes the order's totals over every stored event),
    /// the same stop's downtime rows (one record per work center and start), the same hold's rows
    /// (each posting brings Odoo to the hold's current state), the same exception's rows (likewise).
    /// A dead scrap or quality note is its
    /// own record: only a replay of it makes it good.
    private func resolveCovered(by entries: [OutboxEntry], answer: String, _ outbox: OutboxStore) throws {
        guard let first = entries.first else { return }
        let kinds: Set<String>
        var matches: (OutboxEntry) -> Bool = { _ in true }
        if Self.orderKinds.contains(first.kind) && first.documentKey.hasPrefix("work_order:") {
            kinds = Self.orderKinds
        } else if first.holdID != 0 {
            kinds = ["hold", "release"]
        } else if first.exceptionID != 0 {
            kinds = ["exception", "exception_closed"]
        } else if first.kind == "downtime", let stop = Self.stopKey(first) {
            kinds = ["downtime"]
            matches = { Self.stopKey($0) == stop }
        } else {
            return
        }
        let posted = Set(entries.map(\.id))
        let covered = try outbox.dead(documentKey: first.documentKey, kinds: kinds).filter {
            !posted.contains($0.id) && matches($0)
        }
        guard !covered.isEmpty else { return }
        let rows = entries.map { "#\($0.id)" }.joined(separator: ", ")
        try outbox.markResolved(
            covered.map(\.id), note: "resolved by the posting of \(rows): \(answer)", nowMs: Self.nowMs())
        state.withLock { $0.resolved += covered.count }
        PosterMetrics.resolved.increment(by: Int64(covered.count))
        logger.info(
            "odoo.posting.resolved",
            metadata: ["rows": "\(covered.map(\.id))", "by": "\(rows)", "document": "\(first.documentKey)"])
    }

    /// A downtime row's stop: its work center and start.
    private static func stopKey(_ entry: OutboxEntry) -> String? {
        guard let event = decode(entry.raw), case .downtime(let d) = event.body else { return nil }
        return "\(event.workCenter)@\(d.startedAtMs)"
    }

    /// Exponential backoff with jitter: half the doubled delay fixed, half random.
    public func backoff(attempts: Int) -> Int64 {
        let exponent = min(attempts, 30)
        let delay = min(configuration.retryMaxMs, configuration.retryBaseMs << Int64(exponent))
        return delay / 2 + Int64.random(in: 0...max(1, delay / 2))
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
