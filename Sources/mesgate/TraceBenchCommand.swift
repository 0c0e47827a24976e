import ArgumentParser
import Foundation
import GenealogyStore
import Logging
import MESDomain
import MESMessages

/// `mesgate trace-bench`: times `Trace` (and the naive per-hop baseline) in process on one or more
/// stores, for the start lots in a file; prints one line per start and store for bench/trace/run.
/// With several stores, each start's timed runs alternate between them (1M, 10M, 1M, 10M, …), so
/// the load of a shared machine at that moment falls on every store alike and their ratio holds.
struct TraceBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace-bench",
        abstract: "Time Trace and the naive baseline on stores (used by bench/trace/run).",
        shouldDisplay: false
    )

    @Option(help: "A store folder; repeat it to time several stores side by side.")
    var data: [String]

    @Option(help: "A file with one start per line: kind<TAB>product<TAB>lot<TAB>serial<TAB>container<TAB>direction.")
    var starts: String

    @Option(help: "Timed Trace runs per start and store (after one warm-up).")
    var repeats = 5

    @Option(help: "Run the naive baseline for starts whose result has at most this many nodes (0: never).")
    var naiveMaxNodes = 20_000

    func run() async throws {
        let stores = try data.map {
            try GenealogyStore.open(
                directory: $0, logger: Logger(label: "mesgate.bench") { _ in SwiftLogNoOpLogHandler() })
        }
        defer { for store in stores { store.close() } }
        guard let text = try? String(contentsOfFile: starts, encoding: .utf8) else {
            throw ServeCommand.fail("cannot read \(starts)")
        }
        print(
            "# store\tstart\tdirection\tnodes\ttrace_us(list)\tnaive_us\tnaive_nodes\tlots_in_trace\ttrace_cpu_us(list)\tnaive_cpu_us"
        )
        let lines = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
        for (number, line) in lines.enumerated() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 6 else { continue }
            let ref = LotRef(product: f[1], lot: f[2], serial: f[3], container: f[4])
            let direction: TraceDirection = f[5] == "backward" ? .backward : .forward
            let request = TraceRequest(lot: ref, direction: direction, maxNodes: 1_000_000)
            // The warm-up on every store first: a start unknown to one store is left out of all.
            var warm: [TraceResult] = []
            for store in stores {
                guard let result = try store.trace(request) else { break }
                warm.append(result)
            }
            guard warm.count == stores.count else { continue }
            var times = Array(repeating: [Int](), count: stores.count)
            var cpuTimes = times
            for _ in 0..<repeats {
                for (i, store) in stores.enumerated() {
                    let (wall, cpu) = try Self.timed {
                        // What the server does per call, minus HTTP/2: the walk and the protobuf-c encoding.
                        if let result = try store.trace(request) { _ = TraceCodec.encode(result) }
                    }
                    times[i].append(wall)
                    cpuTimes[i].append(cpu)
                }
            }
            for (i, store) in stores.enumerated() {
                let lots = warm[i].nodes.filter { $0.ref.lot != nil }.count
                var naive = (wall: -1, cpu: -1)
                var naiveNodes = -1
                if naiveMaxNodes > 0 && warm[i].nodes.count <= naiveMaxNodes {
                    naive = try Self.timed {
                        let reached = try store.naiveTrace(ref, direction: direction) { bytes in
                            try? EventCodec.decode(bytes)
                        }
                        naiveNodes = reached?.count ?? -1
                    }
                }
                let list = times[i].map(String.init).joined(separator: ",")
                let cpuList = cpuTimes[i].map(String.init).joined(separator: ",")
                print(
                    "\(i)\t\(number)\t\(f[5])\t\(warm[i].nodes.count)\t\(list)\t\(naive.wall)\t\(naiveNodes)\t\(lots)\t\(cpuList)\t\(naive.cpu)"
                )
            }
        }
    }

    /// Wall and thread CPU time of `body`, µs.
    private static func timed(_ body: () throws -> Void) rethrows -> (wall: Int, cpu: Int) {
        let c0 = threadCPUMicros()
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return (Int((DispatchTime.now().uptimeNanoseconds - t0) / 1_000), threadCPUMicros() - c0)
    }

    /// CPU time of the calling thread, µs: unlike wall time, not stretched while other processes
    /// hold the cores (the bench machine is shared).
    private static func threadCPUMicros() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return now.tv_sec * 1_000_000 + now.tv_nsec / 1_000
    }
}
