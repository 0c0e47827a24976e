import ArgumentParser

/// `mesgate-load`: a PublishStream load client over nghttp2, for bench/ingest.
@main
struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesgate-load",
        abstract: "Streams distinct valid events to mes.v1.EventIngest/PublishStream and reads every Ack.",
        discussion: """
            Opens --connections HTTP/2 connections with --streams PublishStream streams each; every
            stream keeps up to --window events in flight and ends after its share of --events.
            With --rate, events are paced to that many per second in total, each stream offset by
            its share of the period so that the streams' events are spread over time (for latency
            at a given load); without it, as fast as acks come back. Prints one JSON object: events/s, ack
            latency percentiles (send of the event to receipt of its Ack), counts by ack result.
            """
    )

    @Option(help: "The server, HOST:PORT.") var target = "127.0.0.1:50051"
    @Option(help: "Events to send in all.") var events = 100_000
    @Option(help: "HTTP/2 connections.") var connections = 4
    @Option(help: "PublishStream streams per connection.") var streams = 8
    @Option(help: "Events in flight per stream.") var window = 256
    @Option(help: "Events per second in total; 0 means as fast as possible.") var rate = 0
    @Option(help: "A prefix for event ids, so runs against one store do not collide.") var runID = "load"
    @Option(help: "Give up after this many seconds.") var timeout = 300
    @Flag(help: "Unary EventIngest/Publish calls instead of streams: --streams calls in flight per connection.")
    var unary = false

    func run() throws {
        let (host, port) = try parse(target)
        let plan = LoadPlan(
            totalEvents: events, connections: connections, streamsPerConnection: streams, window: window,
            ratePerSecond: rate, runID: runID, unary: unary)
        let report = try LoadRun(plan: plan, host: host, port: port, timeoutSeconds: timeout).run()
        print(report.json)
        if report.failed > 0 || report.acked < events { throw ExitCode.failure }
    }

    private func parse(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
            throw ValidationError("--target must be HOST:PORT")
        }
        return (String(text[..<colon]), port)
    }
}

/// How the load is spread.
struct LoadPlan: Sendable {
    var totalEvents: Int
    var connections: Int
    var streamsPerConnection: Int
    var window: Int
    var ratePerSecond: Int
    var runID: String
    var unary: Bool

    var streamCount: Int { connections * streamsPerConnection }

    /// The events stream `index` (0-based over all streams) sends: a contiguous range.
    func range(ofStream index: Int) -> Range<Int> {
        let base = totalEvents / streamCount
        let extra = totalEvents % streamCount
        let start = index * base + min(index, extra)
        return start..<(start + base + (index < extra ? 1 : 0))
    }
}
