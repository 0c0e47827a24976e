/// One outbox row with the event it carries, as the poster and `mesgate outbox` see it.
public struct OutboxEntry: Sendable, Hashable {
    public var id: Int64
    public var sequence: Int64
    public var eventID: String
    /// The event kind: produced, consumed, scrapped, downtime, quality, operation.
    public var kind: String
    /// The Odoo document the posting changes (`work_order:<name>`, ...): the unit of coalescing.
    public var documentKey: String
    /// immediate, normal or batch.
    public var latencyClass: String
    /// pending, posted, failed or dead.
    public var state: String
    public var attempts: Int
    public var nextAttemptAtMs: Int64
    public var lastError: String
    public var odooAnswer: String
    public var skippedReason: String
    public var createdAtMs: Int64
    public var updatedAtMs: Int64
    /// The event's protobuf bytes as received.
    public var raw: [UInt8]
}

/// One stored event: its sequence, kind and protobuf bytes.
public struct RawEvent: Sendable, Hashable {
    public var sequence: Int64
    public var kind: String
    public var raw: [UInt8]
}
