/// Checks an event against the contract's rules before it is stored.
///
/// Rules: `event_id` present and at most 128 bytes; a body; lot references complete (product and
/// lot or serial, or a container alone; untracked material, the product alone, only where the
/// model allows it: consumption and scrap); quantities finite and > 0 (scrap ≥ 0) with a unit;
/// times after 2000-01-01 and at most a day in the future.
public struct EventValidator: Sendable {
    /// The longest accepted `event_id`, in UTF-8 bytes.
    public static let maxEventIDBytes = 128
    /// 2000-01-01T00:00:00Z: nothing the plant reports happened before.
    public static let earliestPlausibleMs: Int64 = 946_684_800_000
    /// How far ahead of the server's clock an event may claim to be (clock skew).
    public static let allowedFutureSkewMs: Int64 = 86_400_000

    /// The server's clock, Unix milliseconds UTC; injected so tests can pin it.
    public var nowMs: @Sendable () -> Int64

    public init(nowMs: @escaping @Sendable () -> Int64) {
        self.nowMs = nowMs
    }

    public func validate(_ event: Event) throws(EventValidationError) {
        if event.eventID.isEmpty { throw .init(field: "event_id", reason: "is required") }
        if event.eventID.utf8.count > Self.maxEventIDBytes {
            throw .init(field: "event_id", reason: "is longer than \(Self.maxEventIDBytes) bytes")
        }
        try checkTime(event.occurredAtMs, field: "occurred_at_ms")
        if !event.tzOffset.isEmpty && !Self.isOffset(event.tzOffset) {
            throw .init(field: "tz_offset", reason: "must look like +02:00, -05:30 or Z")
        }
        guard let body = event.body else {
            throw .init(
                field: "body",
                reason:
                    "is required (one of received, consumed, produced, operation, downtime, quality, shipped, scrapped, packed, moved)"
            )
        }
        try validate(body)
    }

    private func validate(_ body: EventBody) throws(EventValidationError) {
        let p = body.name
        switch body {
        case .received(let b):
            try checkTracked(b.lot, field: "\(p).lot")
            try checkPositive(b.qty, field: "\(p).qty")
        case .consumed(let b):
            try checkMaterial(b.component, field: "\(p).component")
            try checkPositive(b.qty, field: "\(p).qty")
            if let into = b.into { try checkTracked(into, field: "\(p).into") }
        case .produced(let b):
            try checkTracked(b.output, field: "\(p).output")
            try checkPositive(b.good, field: "\(p).good")
            if let scrap = b.scrap { try checkNonNegative(scrap, field: "\(p).scrap") }
        case .operation(let b):
            if b.operation.isEmpty { throw .init(field: "\(p).operation", reason: "is required") }
            if b.state == .unspecified {
                throw .init(field: "\(p).state", reason: "must be STARTED, PAUSED, RESUMED or COMPLETED")
            }
            if let good = b.good { try checkNonNegative(good, field: "\(p).good") }
            if let scrap = b.scrap { try checkNonNegative(scrap, field: "\(p).scrap") }
        case .downtime(let b):
            if b.reason.isEmpty { throw .init(field: "\(p).reason", reason: "is required") }
            if b.loss == .unspecified {
                throw .init(field: "\(p).loss", reason: "must be AVAILABILITY, PERFORMANCE or QUALITY")
            }
            try checkTime(b.startedAtMs, field: "\(p).started_at_ms")
            if b.endedAtMs != 0 {
                try checkTime(b.endedAtMs, field: "\(p).ended_at_ms")
                if b.endedAtMs < b.startedAtMs {
                    throw .init(field: "\(p).ended_at_ms", reason: "is before started_at_ms")
                }
            }
        case .quality(let b):
            try checkTracked(b.lot, field: "\(p).lot")
            if b.check.isEmpty { throw .init(field: "\(p).check", reason: "is required") }
            if b.outcome == .unspecified { throw .init(field: "\(p).outcome", reason: "must be PASS, FAIL or WARN") }
            for (i, m) in b.measurements.enumerated() {
                let f = "\(p).measurements[\(i)]"
                if m.name.isEmpty { throw .init(field: "\(f).name", reason: "is required") }
                for (name, v) in [("value", m.value), ("lower", m.lower), ("upper", m.upper)] where !v.isFinite {
                    throw .init(field: "\(f).\(name)", reason: "must be a finite number")
                }
            }
        case .shipped(let b):
            try checkTracked(b.lot, field: "\(p).lot")
            try checkPositive(b.qty, field: "\(p).qty")
            if b.customer.isEmpty { throw .init(field: "\(p).customer", reason: "is required") }
        case .scrapped(let b):
            try checkMaterial(b.lot, field: "\(p).lot")
            try checkPositive(b.qty, field: "\(p).qty")
        case .packed(let b):
            if b.container.kind != .container {
                throw .init(field: "\(p).container", reason: "must name a container (container set, nothing else)")
            }
            if b.contents.isEmpty { throw .init(field: "\(p).contents", reason: "must name at least one item") }
            for (i, item) in b.contents.enumerated() { try checkTracked(item, field: "\(p).contents[\(i)]") }
            if b.action == .unspecified { throw .init(field: "\(p).action", reason: "must be ADD or DELETE") }
        case .moved(let b):
            try checkTracked(b.lot, field: "\(p).lot")
            try checkPositive(b.qty, field: "\(p).qty")
            if let newLot = b.newLot {
                try checkTracked(newLot, field: "\(p).new_lot")
                if newLot == b.lot { throw .init(field: "\(p).new_lot", reason: "must differ from lot") }
            }
        }
    }

    /// A lot, serial or container: a node of the genealogy.
    private func checkTracked(_ ref: LotRef, field: String) throws(EventValidationError) {
        switch ref.kind {
        case .lot, .serial, .container: return
        case .untracked:
            throw .init(field: field, reason: "must name a lot or serial (product with lot or serial) or a container")
        case .incomplete: throw Self.incomplete(ref, field: field)
        }
    }

    /// Tracked material, or untracked material named by its product alone.
    private func checkMaterial(_ ref: LotRef, field: String) throws(EventValidationError) {
        if ref.kind == .incomplete { throw Self.incomplete(ref, field: field) }
    }

    private static func incomplete(_ ref: LotRef, field: String) -> EventValidationError {
        if ref.isEmpty { return .init(field: field, reason: "is required") }
        if !ref.container.isEmpty { return .init(field: field, reason: "a container is named by container alone") }
        return .init(field: "\(field).product", reason: "is required with a lot or serial")
    }

    private func checkPositive(_ qty: Quantity?, field: String) throws(EventValidationError) {
        guard let qty else { throw .init(field: field, reason: "is required") }
        if !qty.value.isFinite || qty.value <= 0 {
            throw .init(field: "\(field).value", reason: "must be a finite number greater than 0")
        }
        if qty.uom.isEmpty { throw .init(field: "\(field).uom", reason: "is required") }
    }

    private func checkNonNegative(_ qty: Quantity, field: String) throws(EventValidationError) {
        if !qty.value.isFinite || qty.value < 0 {
            throw .init(field: "\(field).value", reason: "must be a finite number of at least 0")
        }
        if qty.uom.isEmpty && qty.value != 0 { throw .init(field: "\(field).uom", reason: "is required") }
    }

    private func checkTime(_ ms: Int64, field: String) throws(EventValidationError) {
        if ms < Self.earliestPlausibleMs {
            throw .init(field: field, reason: "must be Unix milliseconds after 2000-01-01")
        }
        if ms > nowMs() + Self.allowedFutureSkewMs {
            throw .init(field: field, reason: "is more than a day in the future")
        }
    }

    /// `Z`, or `±HH:MM` with hours ≤ 14 and minutes < 60.
    static func isOffset(_ s: String) -> Bool {
        if s == "Z" { return true }
        let c = Array(s.utf8)
        guard c.count == 6, c[0] == UInt8(ascii: "+") || c[0] == UInt8(ascii: "-"), c[3] == UInt8(ascii: ":") else {
            return false
        }
        let digits = [c[1], c[2], c[4], c[5]]
        guard digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        let hours = Int(c[1] - 48) * 10 + Int(c[2] - 48)
        let minutes = Int(c[4] - 48) * 10 + Int(c[5] - 48)
        return hours <= 14 && minutes < 60
    }
}
