public import MESDomain

/// Tunables of the store; the defaults suit production.
public struct StoreOptions: Sendable {
    /// How the write connection's commits reach the disk (WAL mode).
    public enum Synchronous: String, Sendable {
        /// Every commit is synced before it is acknowledged: an ack survives power loss. The
        /// default. The server's writer commits without syncing, through the buffered log
        /// (`WALBuffer`), and syncs the log on a thread of its own before the acks
        /// (`CommitSyncer`); a tool's commits with FULL.
        case full
        /// Synced at checkpoints: an ack survives a crash of mesgate, not of the machine.
        case normal
        /// Never synced: for tests and benchmarks only.
        case off
    }

    public var synchronous: Synchronous = .full
    /// With `synchronous` full: what syncs the write-ahead log before the acks; nil, `fdatasync`
    /// of the log file. Tests give one that fails or waits.
    var walSync: (@Sendable () throws(WALSyncError) -> Void)?
    /// Requests the writer queue holds before `submit` answers `.full`.
    public var queueCapacity: Int = 16_384
    /// Events committed in one transaction at most.
    public var maxBatchEvents: Int = 4_096
    /// Received event bytes committed in one transaction at most (one event always fits): 4 MiB,
    /// a few of the largest events the field limits allow, so their commit stays short.
    public var maxBatchBytes: Int = 4 * 1024 * 1024
    /// Idle read-only connections kept for `read`.
    public var readerCount: Int = 4
    /// Read-only connections in use at once at most; a query beyond them is refused with `.busy`.
    public var maxReaders: Int = 32
    /// WAL frames (pages) after which the log is made to start over under a steady load (see
    /// `WALCheckpointer`); 12,288 frames are 48 MiB with SQLite's 4 KiB pages. Each restart costs
    /// the writer a short copy, so a longer log means fewer of those pauses (one every few seconds
    /// at 7,000 events/s rather than several a second). A young store's log is made to start over
    /// sooner: at a quarter of its pages, at least 1 MiB.
    public var walRestartFrames: Int = 12_288

    /// The size the WAL file is cut back to when the log starts over (`journal_size_limit`): above
    /// the longest the log gets under a steady load, which is the bound where the writer copies it
    /// itself (`WALCheckpointer.boundFrames`, twice `walRestartFrames`) plus the batches committed
    /// meanwhile (32 MiB), and at least 64 MiB; 128.6 MiB by default. A file longer than the limit
    /// is cut back, by the writer, in the first commit after the restart, a few milliseconds of a
    /// commit that acks wait for, and then grows again: with 64 MiB that was 19 times in 15 s at
    /// 17,400 events/s, 1.6–8.5 ms each (bench/RESULTS.md, 2026-12-06).
    var walFileLimit: Int {
        // A restart length past 4 GiB of frames (tests' `.max`: no restart) counts as 4 GiB.
        let frames = min(walRestartFrames, 1 << 20)
        let bound = WALCheckpointer.boundFrames(long: frames) * (Self.pageBytes + Self.frameHeaderBytes)
        return max(64 << 20, bound + (32 << 20))
    }

    /// SQLite's page size (its default, which the store keeps) and the header of a WAL frame.
    static let pageBytes = 4_096
    static let frameHeaderBytes = 24

    /// While its transactions fail (disk full, I/O error), how often an idle writer tries a
    /// one-row probe transaction, so that the store reports itself writable again without traffic.
    public var commitProbeInterval: Duration = .seconds(1)
    /// Whether a QualityResult FAIL places a (propagating) hold on its lot.
    public var holdOnQualityFail = false
    /// Whether stored bytes (`events.raw`) are the same event as a new one with the same id whose
    /// bytes differ (another encoding of one event is a duplicate; another event is a re-used
    /// id, refused). nil: differing bytes are another event. The executable gives the decoder.
    public var sameEvent: (@Sendable (_ stored: [UInt8], _ event: Event) -> Bool)?
    /// The checks of each event against Odoo's master data (genealogy/MODEL.md, "Master data
    /// rules"); off until the executable gives the decoder of stored events they need.
    public var masterData = MasterDataChecks()

    public init() {}
}

/// How the writer checks events against the master data in the store: the rules, the BoM
/// tolerance, and the decoder of stored event bytes (for an order's totals).
public struct MasterDataChecks: Sendable {
    public var rules = MasterDataRules()
    public var tolerance = ConsumptionTolerance()
    /// nil: no check runs.
    public var decode: (@Sendable ([UInt8]) -> Event?)?

    public init() {}
}
