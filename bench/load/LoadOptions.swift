import ArgumentParser
import NIOCore

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
            With --events-file, sends that file's events (the first --events of them) instead of
            synthetic ones, each id prefixed with --run-id.
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
    @Option(
        help: ArgumentHelp(
            "Send this file's events instead of synthetic ones.",
            discussion: """
                Length-delimited mes.v1.Event messages, as `bench/plantgen/plantgen.py --out` writes them. \
                The first --events of them are sent (all if the file holds fewer), split over the streams \
                like synthetic ones, each event_id replaced by <run-id>-<event_id>. They are read and \
                framed before the clock starts.
                """, valueName: "file"))
    var eventsFile: String?
    @Flag(help: "Unary EventIngest/Publish calls instead of streams: --streams calls in flight per connection.")
    var unary = false

    func run() throws {
        let (host, port) = try parse(target)
        let source: LoadEvents
        let total: Int
        if let eventsFile {
            let framed = try EventFile(path: eventsFile, runID: runID).framedEvents(limit: events)
            source = .file(framed)
            total = framed.count
        } else {
            source = .synthetic(EventBytes(runID: runID))
            total = events
        }
        let plan = LoadPlan(
            totalEvents: total, connections: connections, streamsPerConnection: streams, window: window,
            ratePerSecond: rate, runID: runID, unary: unary)
        let report = try LoadRun(plan: plan, events: source, host: host, port: port, timeoutSeconds: timeout).run()
        print(report.json)
        if report.failed > 0 || report.acked < total { throw ExitCode.failure }
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

/// What the load sends: events built as they are sent, or a file's events framed before the run.
enum LoadEvents: Sendable {
    case synthetic(EventBytes)
    case file([ByteBuffer])

    /// Event `n` (0-based over the run) with its gRPC prefix. A file's events are sent as they
    /// are: `firstOfStream` (a synthetic stream's first event receives its own lot) does not apply,
    /// the file already says which lots come first.
    func framed(_ n: Int, firstOfStream: Bool) -> ByteBuffer {
        switch self {
        case .synthetic(let bytes): ByteBuffer(bytes: bytes.framed(n, firstOfStream: firstOfStream))
        case .file(let events): events[n]
        }
    }
}
