public import GenealogyStore
import MESDomain
import MESMessages

/// Mass balance per production order: for every unit of measure that appears on both sides, the
/// quantity consumed against the quantity reported (good + scrap). An order whose difference is
/// more than `tolerance` (a fraction of what was consumed) is an exception of kind `mass_balance`
/// ("actual consumption exceeds tolerance" when more was consumed than came out).
/// Computed when asked, from the stored events.
public struct MassBalance: Sendable {
    /// One order and unit whose output and input differ by more than the tolerance.
    public struct Finding: Sendable, Hashable {
        public var workOrder: String
        public var uom: String
        public var consumed: Double
        public var reported: Double
        public var lastSequence: Int64

        /// The finding in a sentence, for the exceptions list.
        public var detail: String {
            let direction = consumed > reported ? "actual consumption exceeds tolerance" : "output exceeds consumption"
            return
                "order \(workOrder): consumed \(consumed) \(uom), reported \(reported) \(uom) (good + scrap): \(direction)"
        }
    }

    /// The largest difference allowed, as a fraction of what was consumed.
    public let tolerance: Double

    public init(tolerance: Double) { self.tolerance = tolerance }

    /// The orders out of balance, in the order their first event was stored. Reads the store on
    /// the calling thread.
    public func findings(in store: GenealogyStore) throws -> [Finding] {
        var consumed: [String: [String: Double]] = [:]
        var reported: [String: [String: Double]] = [:]
        var last: [String: Int64] = [:]
        var order: [String] = []
        try store.forEachOrderEvent(kinds: ["consumed", "produced"]) { stored, workOrder in
            guard let event = try? stored.raw.withUnsafeBytes({ try EventCodec.decode($0) }) else { return }
            if last[workOrder] == nil { order.append(workOrder) }
            last[workOrder] = stored.sequence
            switch event.body {
            case .consumed(let b):
                if let q = b.qty { consumed[workOrder, default: [:]][q.uom, default: 0] += q.value }
            case .produced(let b):
                for q in [b.good, b.scrap].compactMap({ $0 }) {
                    reported[workOrder, default: [:]][q.uom, default: 0] += q.value
                }
            case .received, .operation, .downtime, .quality, .shipped, .scrapped, .packed, .moved, nil: break
            }
        }
        var findings: [Finding] = []
        for workOrder in order {
            let inputs = consumed[workOrder] ?? [:]
            let outputs = reported[workOrder] ?? [:]
            for (uom, input) in inputs.sorted(by: { $0.key < $1.key }) {
                guard let output = outputs[uom], input > 0 else { continue }
                if abs(input - output) > tolerance * input {
                    findings.append(
                        Finding(
                            workOrder: workOrder, uom: uom, consumed: input, reported: output,
                            lastSequence: last[workOrder] ?? 0))
                }
            }
        }
        return findings
    }
}
