/// The states of an outbox row (the `outbox.state` column's CHECK, migration 11).
public enum OutboxState: String, Sendable, CaseIterable {
    /// Waiting for its first posting, or due again (retry, replay).
    case pending
    /// The last attempt failed in a way worth retrying; due again after a backoff.
    case failed
    /// Odoo refused it, or retries ran out: a dead letter, for a person to look at.
    case dead
    /// Odoo took it.
    case posted
    /// Was dead, then a later posting of the same order, stop or hold made it good.
    case resolved
    /// A person gave up on it (`mesgate outbox skip`): never posted, left out of its order's totals.
    case skipped
}

/// One outbox row with the event it carries, as the poster and `mesgate outbox` see it.
public struct OutboxEntry: Sendable, Hashable {
    public var id: Int64
    /// The event's sequence; 0 for a hold's row.
    public var sequence: Int64
    /// The event's id; `hold:<id>` for a hold's row, `exception:<id>` for an exception's.
    public var eventID: String
    /// The event kind (produced, consumed, scrapped, downtime, quality, operation), or `hold` /
    /// `release` for a hold placed or released.
    public var kind: String
    /// The Odoo document the posting changes (`work_order:<name>`, ...): the unit of coalescing.
    public var documentKey: String
    /// immediate, normal or batch.
    public var latencyClass: String
    /// An `OutboxState` raw value.
    public var state: String
    public var attempts: Int
    public var nextAttemptAtMs: Int64
    public var lastError: String
    public var odooAnswer: String
    /// Why a person skipped it (state `skipped`).
    public var skippedReason: String
    public var createdAtMs: Int64
    public var updatedAtMs: Int64
    /// The event's protobuf bytes as received; empty for a hold's row.
    public var raw: [UInt8]
    /// The hold a `hold` or `release` row tells Odoo of; 0 for an event's row.
    public var holdID: Int64 = 0
    /// What made a dead row good (the later posting that covered it); empty otherwise.
    public var resolvedNote: String = ""
    /// The exception an `exception` or `exception_closed` row tells Odoo of; 0 otherwise.
    public var exceptionID: Int64 = 0
}

/// A hold as the poster tells Odoo of it: what it covers and whether it is still open.
public struct HoldPosting: Sendable, Hashable {
    public var id: Int64
    public var reason: String
    public var placedBy: String
    public var placedAtMs: Int64
    /// When it was released; nil while open.
    public var releasedAtMs: Int64?
    public var releasedBy: String
    public var releaseReason: String
    /// The lots and serials it covers (root first): (product, lot or serial name). Containers are
    /// left out: Odoo keeps no lot for them.
    public var items: [HeldLot]
}

/// A lot or serial a hold covers, by Odoo's key: product code and lot (or serial) name.
public struct HeldLot: Sendable, Hashable {
    public var product: String
    public var name: String
}

/// One stored event: its sequence, kind and protobuf bytes.
public struct RawEvent: Sendable, Hashable {
    public var sequence: Int64
    public var kind: String
    public var raw: [UInt8]
}
