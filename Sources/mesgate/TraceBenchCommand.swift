import ArgumentParser
import Foundation
import GenealogyStore
import Logging
import MESDomain
import MESMessages

/// `mesgate trace-bench`: times `Trace` (and the naive per-hop baseline) in process on a store,
/// for the start lots in a file; prints one line per measurement for bench/trace/run to bucket.
struct TraceBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace-bench",
        abstract: "Time Trace and the naive baseline on a store (used by bench/trace/run).",
        shouldDisplay: false
    )

    @Option(help: "The store folder.")
    var data: String

    @Option(help: "A file with one start per line: kind<TAB>product<TAB>lot<TAB>serial<TAB>container<TAB>direction.")
    var starts: String

    @Option(help: "Timed Trace runs per start (after one warm-up).")
    var repeats = 5

    @Option(help: "Run the naive baseline for starts whose result has at most this many nodes (0: never).")
    var naiveMaxNodes = 20_000

    func run() async throws {
        let store = try GenealogyStore.open(
            directory: data, logger: Logger(label: "mesgate.bench") { _ in SwiftLogNoOpLogHandler() })
        defer { store.close() }
        guard let text = try? String(contentsOfFile: starts, encoding: .utf8) else {
            throw ServeCommand.fail("cannot read \(starts)")
        }
        print(
            "# direction\tnodes\ttrace_us(list)\tnaive_us\tnaive_nodes\tlots_in_trace\ttrace_cpu_us(list)\tnaive_cpu_us"
        )
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 6 else { continue }
            let ref = LotRef(product: f[1], lot: f[2], serial: f[3], container: f[4])
            let direction: TraceDirection = f[5] == "backward" ? .backward : .forward
            let request = TraceRequest(lot: ref, direction: direction, maxNodes: 1_000_000)
            guard let warm = try store.trace(request) else { continue }
            var times: [Int] = []
            var cpuTimes: [Int] = []
            for _ in 0..<repeats {
                let c0 = Self.threadCPUMicros()
                let t0 = DispatchTime.now().uptimeNanoseconds
                // What the server does per call, minus HTTP/2: the walk and the protobuf-c encoding.
                if let result = try store.trace(request) { _ = TraceCodec.encode(result) }
                times.append(Int((DispatchTime.now().uptimeNanoseconds - t0) / 1_000))
                cpuTimes.append(Self.threadCPUMicros() - c0)
            }
            let lots = warm.nodes.filter { $0.ref.lot != nil }.count
            var naiveMicros = -1
            var naiveCPUMicros = -1
            var naiveNodes = -1
            if naiveMaxNodes > 0 && warm.nodes.count <= naiveMaxNodes {
                let c0 = Self.threadCPUMicros()
                let t0 = DispatchTime.now().uptimeNanoseconds
                let reached = try store.naiveTrace(ref, direction: direction) { bytes in
                    try? EventCodec.decode(bytes)
                }
                naiveMicros = Int((DispatchTime.now().uptimeNanoseconds - t0) / 1_000)
                naiveCPUMicros = Self.threadCPUMicros() - c0
                naiveNodes = reached?.count ?? -1
            }
            let list = times.map(String.init).joined(separator: ",")
            let cpuList = cpuTimes.map(String.init).joined(separator: ",")
            print(
                "\(f[5])\t\(warm.nodes.count)\t\(list)\t\(naiveMicros)\t\(naiveNodes)\t\(lots)\t\(cpuList)\t\(naiveCPUMicros)"
            )
        }
    }

    /// CPU time of the calling thread, µs: unlike wall time, not stretched while other processes
    /// hold the cores (the bench machine is shared).
    private static func threadCPUMicros() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return now.tv_sec * 1_000_000 + now.tv_nsec / 1_000
    }
}
