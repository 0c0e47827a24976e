public import GenealogyStore
public import MESDomain
import MESMessages

/// What the plant reported for one production order, summed over every stored event of it: the
/// absolute totals the poster writes to Odoo (so a repeated posting changes nothing) and that
/// `mesgate reconcile` compares with Odoo.
public struct OrderReport: Sendable, Hashable {
    /// Output lots or serials, in the order first reported.
    public var outputs: [LotRef] = []
    /// Good quantity produced.
    public var good: Double = 0
    /// Good quantity by output lot or serial name.
    public var goodByOutput: [String: Double] = [:]
    /// Consumed quantity by component product, then by lot or serial ("" for untracked material).
    public var consumed: [String: [String: Double]] = [:]
    /// The same, by the output it went into (`into`'s lot or serial name; "" when the consumption
    /// names no output: order-level).
    public var consumedInto: [String: [String: [String: Double]]] = [:]
    /// Scrapped quantity by product, then lot ("" untracked).
    public var scrapped: [String: [String: Double]] = [:]
    /// Whether the plant reported the order complete (an operation COMPLETED).
    public var completed = false
    /// Components the plant reported consuming on the order whose every consumption was then
    /// skipped (`mesgate outbox skip`) or voided (a correction): Odoo is to hold none of it, so the poster empties their raw
    /// moves (an earlier attempt may have written them before Odoo refused the order).
    public var withdrawn: Set<String> = []

    public init() {}

    /// Sums `events` (undecodable ones are skipped: the store only holds events that decoded once).
    public init(events: [RawEvent]) {
        for raw in events {
            guard let event = decode(raw.raw), let body = event.body else { continue }
            add(body)
        }
    }

    /// Notes the components of the skipped or voided `events` that no other event of the order consumes.
    public mutating func withdraw(_ events: [RawEvent]) {
        for raw in events {
            guard let event = decode(raw.raw), case .consumed(let c) = event.body, consumed[c.component.product] == nil
            else { continue }
            withdrawn.insert(c.component.product)
        }
    }

    mutating func add(_ body: EventBody) {
        switch body {
        case .produced(let p):
            if p.output.isTracked && !outputs.contains(p.output) { outputs.append(p.output) }
            good += p.good?.value ?? 0
            if p.output.isTracked { goodByOutput[lotName(p.output), default: 0] += p.good?.value ?? 0 }
        case .consumed(let c):
            let qty = c.qty?.value ?? 0
            consumed[c.component.product, default: [:]][lotName(c.component), default: 0] += qty
            let into = c.into.map(lotName) ?? ""
            consumedInto[into, default: [:]][c.component.product, default: [:]][lotName(c.component), default: 0] += qty
        case .scrapped(let s):
            scrapped[s.lot.product, default: [:]][lotName(s.lot), default: 0] += s.qty?.value ?? 0
        case .operation(let o):
            if o.state == .completed { completed = true }
        default:
            break
        }
    }
}

/// The Odoo lot name of a reference: its serial, else its lot ("" when untracked).
public func lotName(_ ref: LotRef) -> String { ref.serial.isEmpty ? ref.lot : ref.serial }

/// The domain event in stored protobuf bytes, or nil.
public func decode(_ raw: [UInt8]) -> Event? {
    raw.withUnsafeBytes { try? EventCodec.decode($0) }
}
