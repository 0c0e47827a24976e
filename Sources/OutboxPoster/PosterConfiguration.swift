public import Odoo

/// How the poster talks to Odoo and paces itself.
public struct PosterConfiguration: Sendable {
    public var odoo: OdooConfiguration
    /// Batch-class rows (production, consumption, operations) wait this long to be coalesced per order...
    public var coalesceMs: Int64 = 2_000
    /// ...unless this many are waiting for one order.
    public var coalesceMaxEvents = 500
    /// How often the outbox is looked at when idle.
    public var pollMs: Int64 = 200
    /// First retry delay; doubled per attempt (with jitter) up to `retryMaxMs`.
    public var retryBaseMs: Int64 = 1_000
    public var retryMaxMs: Int64 = 300_000
    /// Retryable failures in a row after which a row is dead-lettered.
    public var maxAttempts = 100
    /// How long posting pauses after Odoo refused the credentials.
    public var authPauseMs: Int64 = 60_000
    /// Latency class per event kind (`quality` → `batch`, ...), overriding the class the store
    /// gave the row: `immediate` and `normal` are posted at once, `batch` waits to be coalesced.
    public var latencyByKind: [String: String] = [:]
    /// Which quality results become notes on the lot in Odoo: `all`, `failures` (FAIL and WARN) or
    /// `none` (Community Odoo has no quality models; the note is where a person sees them).
    public var qualityNotes = "all"
    /// How quality holds reach Odoo: `activity` (a "Quality hold" mail.activity on each held lot,
    /// marked done on release) or `none`.
    public var holdPosting = "activity"
    /// An order finished with less than planned keeps a backorder in Odoo for the rest.
    public var keepBackorders = false
    /// How often released production orders are read from Odoo.
    public var releasePollMs: Int64 = 10_000
    /// How often master data (products, BoMs, work centers, units) is read from Odoo.
    public var masterDataPollMs: Int64 = 60_000
    /// Rows taken per look at the outbox.
    public var claimLimit = 5_000

    public init(odoo: OdooConfiguration) { self.odoo = odoo }
}
