import ArgumentParser
import Dispatch
import Foundation
import GenealogyStore
import Logging
import MESDomain
import MESMessages
import Synchronization

/// `mesgate load`: bulk-loads a file of length-delimited `mes.v1.Event` messages (what
/// bench/plantgen writes) straight into a store through its writer thread: the same decoding,
/// validation and recording as `Publish`, without the network. For benchmarks and migrations.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load length-delimited mes.v1.Event messages from a file into the store (no server).",
        shouldDisplay: false
    )

    @Option(help: "The folder holding the genealogy store (created if missing).")
    var data: String

    @Option(help: "full, normal or off (off: fastest; a crash may corrupt the store).")
    var sync: StoreOptions.Synchronous = .normal

    @Option(help: "Events in flight at most.")
    var window = 32_768

    @Argument(help: "Files of length-delimited mes.v1.Event messages.")
    var files: [String]

    func run() async throws {
        var options = StoreOptions()
        options.synchronous = sync
        options.queueCapacity = max(window, 1)
        let store: GenealogyStore
        let folderLock: DataFolderLock
        do {
            folderLock = try DataFolderLock.acquire(directory: data)
            store = try GenealogyStore.open(
                directory: data, options: options,
                logger: Logger(label: "mesgate.load") { _ in SwiftLogNoOpLogHandler() })
        } catch {
            throw ServeCommand.fail("cannot open the store in \(data): \(error)")
        }
        let validator = EventValidator(nowMs: { Int64(Date().timeIntervalSince1970 * 1000) })
        let slots = DispatchSemaphore(value: window)
        let counts = LoadCounts()
        let started = Date()
        var total = 0
        for file in files {
            // Mapped, not read: a 10M-event plant is over 1 GB, and a copy of it doubled that.
            let bytes: Data
            do {
                bytes = try Data(contentsOf: URL(fileURLWithPath: file), options: .alwaysMapped)
            } catch {
                throw ServeCommand.fail("cannot read \(file): \(error)")
            }
            var i = 0
            try bytes.withUnsafeBytes { all in
                while i < all.count {
                    var length = 0
                    var shift = 0
                    while i < all.count {
                        let b = all[i]
                        i += 1
                        length |= Int(b & 0x7F) << shift
                        shift += 7
                        if b < 0x80 { break }
                    }
                    guard i + length <= all.count else { throw ServeCommand.fail("\(file): truncated message") }
                    let message = UnsafeRawBufferPointer(rebasing: all[i..<i + length])
                    i += length
                    total += 1
                    if total % 1_000_000 == 0 {
                        let seconds = Date().timeIntervalSince(started)
                        FileHandle.standardError.write(
                            Data("\(file): \(total) events read, \(Int(Double(total) / max(seconds, 0.001)))/s\n".utf8))
                    }
                    let event: Event
                    do {
                        event = try EventCodec.decode(message)
                        try validator.validate(event)
                    } catch {
                        counts.add(.rejected)
                        continue
                    }
                    slots.wait()
                    let request = IngestRequest(event: event, raw: Array(message), client: "mesgate-load")
                    while true {
                        let submitted = store.submit(request) { outcome in
                            switch outcome {
                            case .accepted: counts.add(.accepted)
                            case .duplicate: counts.add(.duplicate)
                            case .failed: counts.add(.failed)
                            }
                            slots.signal()
                        }
                        if submitted == .queued { break }
                        if submitted == .closed { throw ServeCommand.fail("the store closed") }
                        usleep(1_000)
                    }
                }
            }
        }
        let batches = store.committedBatchCount
        store.close()
        withExtendedLifetime(folderLock) {}
        let seconds = Date().timeIntervalSince(started)
        let c = counts.snapshot()
        print(
            "loaded \(total) events in \(String(format: "%.1f", seconds)) s"
                + " (\(Int(Double(total) / max(seconds, 0.001))) events/s): accepted \(c[.accepted] ?? 0),"
                + " duplicate \(c[.duplicate] ?? 0), rejected \(c[.rejected] ?? 0), failed \(c[.failed] ?? 0); \(batches) transactions"
        )
    }
}

extension StoreOptions.Synchronous: ExpressibleByArgument {}

/// Outcome counters shared with the writer thread's completions.
final class LoadCounts: Sendable {
    enum Kind: Hashable { case accepted, duplicate, rejected, failed }
    private let counts = Mutex<[Kind: Int]>([:])
    func add(_ kind: Kind) { counts.withLock { $0[kind, default: 0] += 1 } }
    func snapshot() -> [Kind: Int] { counts.withLock { $0 } }
}
