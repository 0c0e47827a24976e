import Foundation
import GenealogyStore
public import Logging
public import MESDomain
public import Odoo
import Synchronization
import WorkerThread

/// Reads master data from Odoo on a schedule, on a thread of its own: what changed since the last
/// poll (`write_date`), recorded as new revisions in the store when content changed
/// (`MasterDataWriter`). After each poll it hands `onRevisions` every revision the store gained
/// since the last it handed over, whoever recorded it (this poller, the release poller naming an
/// order's BoM, `mesgate masterdata sync`), in the order they were recorded.
public final class MasterDataPoller: Sendable {
    private let configuration: OdooConfiguration
    private let intervalMs: Int64
    private let logger: Logger
    private let storePath: String
    private let onRevisions: @Sendable ([MasterRevision]) -> Void
    private let startSequence: Int64
    /// Its thread (what ps shows: `mesgate-mdata`).
    private let worker = WorkerThread(name: "mesgate-mdata")
    private let polls = Atomic<Int>(0)

    /// `after`: the newest revision the receiver of `onRevisions` already has (`MasterDataBook.lastSequence`).
    public init(
        configuration: OdooConfiguration, storePath: String, intervalMs: Int64, after: Int64, logger: Logger,
        onRevisions: @escaping @Sendable ([MasterRevision]) -> Void
    ) {
        self.configuration = configuration
        self.storePath = storePath
        self.intervalMs = intervalMs
        self.startSequence = after
        self.logger = logger
        self.onRevisions = onRevisions
    }

    /// Polls finished so far (successful or not).
    public var pollCount: Int { polls.load(ordering: .relaxed) }

    public func start() {
        worker.start { [self] in run() }
    }

    /// Polls now instead of at the end of the interval.
    public func pollNow() { worker.wake() }

    /// Stops the thread after the poll in flight and waits for it. Blocks.
    public func stop() {
        worker.stop()
    }

    private func run() {
        let reader: OdooMasterData
        let writer: MasterDataWriter
        do {
            reader = OdooMasterData(client: try OdooClient(configuration: configuration))
            writer = try MasterDataWriter(path: storePath)
        } catch {
            logger.critical("odoo.masterdata.start_failed", metadata: ["error": "\(error)"])
            return
        }
        var cursor: String?
        var handed = startSequence
        while !worker.isStopping {
            do {
                let (items, newest) = try reader.read(since: cursor)
                let recorded = try writer.record(items, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
                cursor = newest
                if !recorded.isEmpty {
                    logger.info(
                        "odoo.masterdata.changed",
                        metadata: ["revisions": "\(recorded.count)", "read": "\(items.count)"])
                }
            } catch let error as OdooError {
                let level: Logger.Level = error.kind == .auth ? .error : .info
                logger.log(level: level, "odoo.masterdata.poll_failed", metadata: ["error": "\(error)"])
            } catch {
                logger.error("odoo.masterdata.save_failed", metadata: ["error": "\(error)"])
            }
            do {
                while true {
                    let batch = try writer.read { try MasterDataBook.revisions(after: handed, limit: 500, in: $0) }
                    guard let last = batch.last else { break }
                    handed = last.sequence
                    onRevisions(batch)
                }
            } catch {
                logger.error("odoo.masterdata.follow_failed", metadata: ["error": "\(error)"])
            }
            polls.add(1, ordering: .relaxed)
            worker.pause(milliseconds: Int(intervalMs))
        }
    }
}
