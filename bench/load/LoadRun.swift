import Foundation
import NIOCore
import NIOPosix

/// Connects, runs the plan to the end and reports.
struct LoadRun {
    let plan: LoadPlan
    let events: LoadEvents
    let host: String
    let port: Int
    let timeoutSeconds: Int

    func run() throws -> LoadReport {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        var handlers: [NIOLoopBound<any LoadHandler>] = []
        var finished: [EventLoopFuture<Void>] = []
        let started = Date()
        for c in 0..<plan.connections {
            let done = loop.makePromise(of: Void.self)
            let plan = self.plan
            let events = self.events
            let handler = try loop.submit {
                let handler: any LoadHandler =
                    plan.unary
                    ? UnaryLoadHandler(plan: plan, events: events, connection: c, done: done)
                    : LoadConnectionHandler(
                        plan: plan, events: events, firstStream: c * plan.streamsPerConnection, done: done)
                return NIOLoopBound(handler, eventLoop: loop)
            }.wait()
            _ = try ClientBootstrap(group: loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try handler.value.add(to: channel.pipeline.syncOperations)
                    }
                }
                .connect(host: host, port: port).wait()
            handlers.append(handler)
            finished.append(done.futureResult)
        }
        let connected = handlers
        let timeout = loop.scheduleTask(in: .seconds(Int64(timeoutSeconds))) {
            for handler in connected { handler.value.timeOut() }
        }
        try EventLoopFuture.andAllComplete(finished, on: loop).wait()
        timeout.cancel()
        let seconds = Date().timeIntervalSince(started)
        let stats = try loop.submit { connected.map(\.value.stats) }.wait()
        let timedOut = stats.contains { $0.errors.contains { $0.hasPrefix("timed out") } }
        return LoadReport(plan: plan, seconds: seconds, stats: stats, timedOut: timedOut)
    }
}

/// A connection handler of either mode.
protocol LoadHandler: AnyObject {
    var stats: LoadStats { get }
    func timeOut()
    func add(to pipeline: ChannelPipeline.SynchronousOperations) throws
}

extension LoadConnectionHandler: LoadHandler {
    func add(to pipeline: ChannelPipeline.SynchronousOperations) throws { try pipeline.addHandler(self) }
}

extension UnaryLoadHandler: LoadHandler {
    func add(to pipeline: ChannelPipeline.SynchronousOperations) throws { try pipeline.addHandler(self) }
}

/// The figures of one run.
struct LoadReport {
    let plan: LoadPlan
    let seconds: Double
    let accepted: Int
    let duplicate: Int
    let rejected: Int
    let failed: Int
    let latencies: [UInt32]
    let errors: [String]
    let timedOut: Bool

    init(plan: LoadPlan, seconds: Double, stats: [LoadStats], timedOut: Bool) {
        self.plan = plan
        self.seconds = seconds
        accepted = stats.map(\.accepted).reduce(0, +)
        duplicate = stats.map(\.duplicate).reduce(0, +)
        rejected = stats.map(\.rejected).reduce(0, +)
        failed = stats.map(\.failed).reduce(0, +)
        latencies = stats.flatMap(\.latenciesMicros).sorted()
        errors = Array(stats.flatMap(\.errors).prefix(5))
        self.timedOut = timedOut
    }

    var acked: Int { accepted + duplicate + rejected }

    private func percentileMs(_ p: Double) -> Double {
        guard !latencies.isEmpty else { return 0 }
        let index = min(latencies.count - 1, Int((p / 100 * Double(latencies.count)).rounded(.up)) - 1)
        return Double(latencies[max(0, index)]) / 1000
    }

    var json: String {
        let fields: [(String, String)] = [
            ("events", "\(plan.totalEvents)"), ("acked", "\(acked)"), ("accepted", "\(accepted)"),
            ("duplicate", "\(duplicate)"), ("rejected", "\(rejected)"), ("failed", "\(failed)"),
            ("seconds", String(format: "%.3f", seconds)),
            ("events_per_s", String(format: "%.0f", Double(acked) / max(seconds, 1e-9))),
            ("p50_ms", String(format: "%.3f", percentileMs(50))), ("p99_ms", String(format: "%.3f", percentileMs(99))),
            ("p999_ms", String(format: "%.3f", percentileMs(99.9))),
            ("max_ms", String(format: "%.3f", Double(latencies.last ?? 0) / 1000)),
            ("connections", "\(plan.connections)"), ("streams", "\(plan.streamCount)"), ("window", "\(plan.window)"),
            ("rate", "\(plan.ratePerSecond)"), ("mode", plan.unary ? "\"unary\"" : "\"stream\""),
            ("timed_out", timedOut ? "true" : "false"),
        ]
        let errorList = errors.map { "\"\($0.replacingOccurrences(of: "\"", with: "'"))\"" }.joined(separator: ", ")
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + ", \"errors\": [\(errorList)]}"
    }
}
