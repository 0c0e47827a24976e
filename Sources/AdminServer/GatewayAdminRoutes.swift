import Foundation
public import GenealogyStore
import NIOHTTP1
import NIOPosix

/// What the process knows that the store does not: serving state, security, recent refusals.
public struct LiveStatus: Sendable {
    /// One refused call.
    public struct AuthFailure: Sendable {
        public var atMs: Int64
        public var peer: String
        public var method: String
        public var reason: String

        public init(atMs: Int64, peer: String, method: String, reason: String) {
            self.atMs = atMs
            self.peer = peer
            self.method = method
            self.reason = reason
        }
    }

    /// A client's last call.
    public struct ClientActivity: Sendable {
        public var client: String
        public var lastCallAtMs: Int64
        public var lastMethod: String
        public var calls: Int

        public init(client: String, lastCallAtMs: Int64, lastMethod: String, calls: Int) {
            self.client = client
            self.lastCallAtMs = lastCallAtMs
            self.lastMethod = lastMethod
            self.calls = calls
        }
    }

    /// Where a plant gateway replicates (`serve --replicate`), as the page shows it.
    public struct Replication: Sendable {
        public var plant: String
        public var servers: String
        public var connected: Bool
        /// Events stored and not yet acknowledged by JetStream, and how long the oldest has waited.
        public var lagEvents: Int64
        public var lagSeconds: Double
        /// Why replication is stopped or failing now, if it is.
        public var problem: String?

        public init(
            plant: String, servers: String, connected: Bool, lagEvents: Int64, lagSeconds: Double, problem: String?
        ) {
            self.plant = plant
            self.servers = servers
            self.connected = connected
            self.lagEvents = lagEvents
            self.lagSeconds = lagSeconds
            self.problem = problem
        }
    }

    /// The enterprise hub's view of its plants (`mesgate hub`).
    public struct Hub: Sendable {
        public var servers: String
        public var connected: Bool
        /// Why the hub cannot take the plants' streams now, if it cannot.
        public var problem: String?
        public var plants: [HubPlant]
        /// Hub holds at each plant, while open or while a plant has not applied their release.
        public var holds: [HoldDelivery]

        public init(servers: String, connected: Bool, problem: String?, plants: [HubPlant], holds: [HoldDelivery]) {
            self.servers = servers
            self.connected = connected
            self.problem = problem
            self.plants = plants
            self.holds = holds
        }
    }

    /// Odoo posting, when on (`--odoo-url`).
    public struct OdooPosting: Sendable {
        public var url: String
        /// Set while posting is paused after Odoo refused the key.
        public var pausedUntilMs: Int64?

        public init(url: String, pausedUntilMs: Int64?) {
            self.url = url
            self.pausedUntilMs = pausedUntilMs
        }
    }

    public var serving: Bool
    public var authenticationEnabled: Bool
    public var grpcListen: String
    public var tls: String
    public var startedAtMs: Int64
    public var recentAuthFailures: [AuthFailure]
    public var clients: [ClientActivity]
    public var replication: Replication?
    /// nil: posting is off (no `--odoo-url`), the outbox accumulates. Not shown at the hub.
    public var odoo: OdooPosting?
    /// The hub shows its plants, not Odoo.
    public var isHub: Bool { hub != nil }
    public var hub: Hub?

    public init(
        serving: Bool, authenticationEnabled: Bool, grpcListen: String, tls: String, startedAtMs: Int64,
        recentAuthFailures: [AuthFailure], clients: [ClientActivity] = [], replication: Replication? = nil,
        odoo: OdooPosting? = nil, hub: Hub? = nil
    ) {
        self.odoo = odoo
        self.hub = hub
        self.clients = clients
        self.replication = replication
        self.serving = serving
        self.authenticationEnabled = authenticationEnabled
        self.grpcListen = grpcListen
        self.tls = tls
        self.startedAtMs = startedAtMs
        self.recentAuthFailures = recentAuthFailures
    }
}

/// The admin listener's pages: `/metrics`, `/healthz` (the process answers), `/readyz` (serving
/// and the store taking writes: 503 otherwise, e.g. while draining, while commits fail or once an
/// integrity check found damage), `/` (the supervisor's status page). `/readyz` reads no table
/// (the store's condition is kept in memory); `/metrics` reads a few rows of counts whatever the
/// store's size (`StatusCounts`). Store reads run on a thread pool of their own, never on an event
/// loop or the cooperative pool.
public struct GatewayAdminRoutes: AdminRoutes {
    let store: GenealogyStore
    let metrics: GatewayMetrics
    let live: @Sendable () -> LiveStatus
    let threads: NIOThreadPool

    public init(store: GenealogyStore, metrics: GatewayMetrics, live: @escaping @Sendable () -> LiveStatus) {
        self.store = store
        self.metrics = metrics
        self.live = live
        threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
    }

    /// `/readyz`'s answer, from memory only.
    func readiness() -> AdminResponse {
        if let problem = store.condition.problem {
            return .text("not ready: \(problem)\n", status: .serviceUnavailable)
        }
        guard live().serving else {
            return .text("not ready: not serving (starting or draining)\n", status: .serviceUnavailable)
        }
        return .text("ready\n")
    }

    public func respond(to path: String) async -> AdminResponse {
        switch path {
        case "/healthz":
            return .text("ok\n")
        case "/readyz":
            return readiness()
        case "/metrics":
            let figures = await figures(live())
            return AdminResponse(
                contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics.exposition(figures))
        case "/", "/status":
            let status = live()
            let page = await onThread { () -> StatusPage in
                let figures = collect(status)
                return StatusPage(
                    live: status, figures: figures,
                    waiting: (try? store.outboxWaiting(limit: 50)) ?? [],
                    exceptions: (try? store.exceptionList(limit: 50)) ?? [],
                    holds: (try? store.openHolds(limit: 50)) ?? [],
                    nowMs: Int64(Date().timeIntervalSince1970 * 1000))
            }
            return AdminResponse(contentType: "text/html; charset=utf-8", body: Array(page.html().utf8))
        default:
            return .text("not found; try /, /metrics, /healthz, /readyz\n", status: .notFound)
        }
    }

    private func figures(_ status: LiveStatus) async -> StoreFigures {
        await onThread { collect(status) }
    }

    /// Reads the store; on the pool's thread.
    private func collect(_ status: LiveStatus) -> StoreFigures {
        var figures = StoreFigures()
        figures.queueDepth = store.queueDepth
        figures.committedBatches = store.committedBatchCount
        figures.serving = status.serving
        figures.authenticationEnabled = status.authenticationEnabled
        figures.storeProblem = store.condition.problem
        do {
            let counts = try store.statusCounts()
            figures.outbox = counts.outbox
            figures.exceptions = counts.exceptions
            figures.openExceptions = counts.openExceptions
            figures.acknowledgedExceptions = counts.acknowledgedExceptions
            figures.held = counts.held
            figures.outboxCommands = counts.outboxCommands
            if let oldest = counts.oldestWaitingOutboxMs {
                figures.oldestWaitingAgeSeconds = max(0, Date().timeIntervalSince1970 - Double(oldest) / 1000)
            }
            figures.readable = true
        } catch {
            figures.readable = false
        }
        return figures
    }

    private func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            threads.submit { _ in continuation.resume(returning: body()) }
        }
    }
}
