import CoreMetrics
import GenealogyStore
import MESDomain
public import Prometheus

/// The Prometheus registry behind swift-metrics, and the gauges refreshed from the store at each
/// scrape. `bootstrap()` once at start; `exposition(...)` for /metrics.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// Outbox states, always exported (0 when empty) so that alert rules see them.
    static let outboxStates = OutboxState.allCases.map(\.rawValue)

    public init() { registry = PrometheusCollectorRegistry() }

    /// Makes this registry the process's swift-metrics backend, with buckets fit for an ack
    /// (milliseconds) and for commit batches (1 to thousands of events).
    public func bootstrap() {
        var factory = PrometheusMetricsFactory(registry: registry)
        let milliseconds: [Duration] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500), .seconds(5),
        ]
        for name in [
            "mesgate_ingest_ack_latency_seconds", "mesgate_store_queue_wait_seconds", "mesgate_store_commit_seconds",
            "mesgate_store_wal_tail_copy_seconds", "mesgate_store_wal_sync_seconds",
        ] {
            factory.durationHistogramBuckets[name] = milliseconds
        }
        factory.valueHistogramBuckets["mesgate_store_commit_batch_events"] = [
            1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096,
        ]
        MetricsSystem.bootstrap(factory)
    }

    /// Sets the store gauges from `figures` and returns the whole exposition text.
    func exposition(_ figures: StoreFigures) -> [UInt8] {
        gauge("mesgate_store_queue_depth", "Events waiting for the store's writer.").set(to: Double(figures.queueDepth))
        gauge("mesgate_store_commit_batches", "Transactions the writer has committed since start.")
            .set(to: Double(figures.committedBatches))
        if let readable = figures.readable {
            gauge("mesgate_store_readable", "1 when the store answered the last scrape's reads.").set(
                to: readable ? 1 : 0)
        }
        for state in Set(Self.outboxStates).union(figures.outbox.keys) {
            gauge("mesgate_outbox_rows", "Outbox rows (messages for Odoo) by state.", [("state", state)])
                .set(to: Double(figures.outbox[state] ?? 0))
        }
        gauge("mesgate_outbox_oldest_waiting_age_seconds", "Age of the oldest pending or failed outbox row; 0 if none.")
            .set(to: figures.oldestWaitingAgeSeconds ?? 0)
        for (kind, count) in figures.exceptions {
            gauge("mesgate_exceptions", "Stored events flagged as doubtful, by kind.", [("kind", kind)])
                .set(to: Double(count))
        }
        // Every kind every scrape, so a kind whose last exception was closed reads 0, not its old count.
        let kinds = Set(ExceptionKind.allCases.map(\.rawValue)).union(figures.openExceptions.keys)
            .union(figures.acknowledgedExceptions.keys)
        for kind in kinds {
            gauge(
                "mesgate_exceptions_open", "Exceptions raised and not acknowledged nor closed yet, by kind.",
                [("kind", kind)]
            ).set(to: Double(figures.openExceptions[kind] ?? 0))
            gauge(
                "mesgate_exceptions_acknowledged", "Exceptions acknowledged by a person and not closed yet, by kind.",
                [("kind", kind)]
            ).set(to: Double(figures.acknowledgedExceptions[kind] ?? 0))
        }
        gauge("mesgate_held_items", "Lots, serials and containers on quality hold.").set(to: Double(figures.held))
        for (action, count) in figures.outboxCommands {
            gauge(
                "mesgate_outbox_commands", "Outbox commands given by administrators (retry, replay, skip).",
                [("action", action)]
            )
            .set(to: Double(count))
        }
        gauge("mesgate_store_writable", "1 while the store's writer can commit (0: disk full, I/O errors, damage).")
            .set(to: figures.storeProblem == nil ? 1 : 0)
        let damaged: Bool
        if case .damaged = figures.storeProblem { damaged = true } else { damaged = false }
        gauge("mesgate_store_damaged", "1 once an integrity check found the store damaged (restore it).")
            .set(to: damaged ? 1 : 0)
        gauge("mesgate_serving", "1 while health says SERVING.").set(to: figures.serving ? 1 : 0)
        gauge("mesgate_authentication_enabled", "1 when a token file is in use.")
            .set(to: figures.authenticationEnabled ? 1 : 0)
        return registry.emitToBuffer()
    }

    private func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Prometheus.Gauge {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }
}

/// What /metrics and the status page read from the store and the process at one moment.
struct StoreFigures: Sendable {
    var queueDepth = 0
    var committedBatches = 0
    var readable: Bool?
    var outbox: [String: Int] = [:]
    var exceptions: [String: Int] = [:]
    /// Exceptions open (not acknowledged) and acknowledged (not closed), by kind.
    var openExceptions: [String: Int] = [:]
    var acknowledgedExceptions: [String: Int] = [:]
    /// Lots, serials and containers held now.
    var held = 0
    /// Outbox commands (retry, replay, skip) administrators gave, by action.
    var outboxCommands: [String: Int] = [:]
    var oldestWaitingAgeSeconds: Double?
    var serving = false
    var authenticationEnabled = false
    /// Why the store takes no writes now (damaged, commits failing), if so.
    var storeProblem: StoreProblem?
}
