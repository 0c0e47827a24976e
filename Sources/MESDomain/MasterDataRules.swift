/// The checks of an event against the master data Odoo publishes (issue "Master data"), each
/// configurable: off, record an exception (the event is stored), or refuse the event.
public struct MasterDataRules: Sendable, Hashable {
    public enum Rule: String, Sendable, Hashable, CaseIterable {
        /// A product code the master data does not know.
        case unknownProduct = "unknown_product"
        /// A quantity in a unit outside its product's unit category (kg of a product counted in Units).
        case uomMismatch = "uom_mismatch"
        /// A lot or serial on a product Odoo does not track.
        case lotOnUntracked = "lot_on_untracked"
        /// No lot (or serial) on a product Odoo tracks by lot (serial).
        case missingLot = "missing_lot"
        /// A work center that is neither a work center's code nor its name.
        case unknownWorkCenter = "unknown_work_center"
        /// An operation of an order reported COMPLETED a second time.
        case duplicateCompletion = "duplicate_completion"
        /// An order's first operation STARTED while Odoo has less of a component on hand than the
        /// order needs (`record` or `off`: the event is never refused for it; see `MasterDataGuard`).
        case materialShortage = "material_shortage"
    }

    public enum Mode: String, Sendable, Hashable, CaseIterable {
        case off, record, refuse
    }

    /// Each rule's mode; a rule not named is `record`.
    public var modes: [Rule: Mode] = [:]

    public init(modes: [Rule: Mode] = [:]) { self.modes = modes }

    public func mode(_ rule: Rule) -> Mode { modes[rule] ?? .record }

    /// Reads `unknown_product=refuse,uom_mismatch=off` (also `all=off`); throws a message naming
    /// the rules and modes there are.
    public init(parsing text: String) throws(MasterDataRulesError) {
        for item in text.split(separator: ",").map({ String($0.filter { $0 != " " }) }) where !item.isEmpty {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let mode = Mode(rawValue: parts[1]) else {
                throw MasterDataRulesError(
                    "\(item): give RULE=MODE, MODE one of \(Mode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if parts[0] == "all" {
                for rule in Rule.allCases { modes[rule] = mode }
                continue
            }
            guard let rule = Rule(rawValue: parts[0]) else {
                throw MasterDataRulesError(
                    "unknown rule \(parts[0]): one of all, \(Rule.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            modes[rule] = mode
        }
    }

    /// What an event breaks, in the order of its fields; empty when the master data is empty (no
    /// Odoo read yet: nothing can be judged).
    public func findings(_ event: Event, _ data: some MasterDataLookup) -> [Finding] {
        guard data.isLoaded else { return [] }
        var found: [Finding] = []
        func add(_ rule: Rule, _ field: String, _ detail: String) {
            if mode(rule) != .off { found.append(Finding(rule: rule, mode: mode(rule), field: field, detail: detail)) }
        }
        if !event.workCenter.isEmpty && !data.knowsWorkCenter(event.workCenter) {
            add(
                .unknownWorkCenter, "work_center",
                "work center \(event.workCenter) is neither a code nor a name in Odoo")
        }
        guard let body = event.body else { return found }
        let p = body.name
        for (field, ref, qty, qtyField) in Self.items(body) where !ref.product.isEmpty {
            guard let product = data.product(ref.product) else {
                add(.unknownProduct, "\(p).\(field).product", "product \(ref.product) is not in Odoo's master data")
                continue
            }
            switch (product.tracking, ref.kind) {
            case (.none, .lot), (.none, .serial):
                add(
                    .lotOnUntracked, "\(p).\(field)",
                    "\(ref) names a lot or serial, but Odoo does not track \(ref.product)")
            case (.lot, .untracked), (.serial, .untracked), (.serial, .lot):
                let wanted = product.tracking == .serial ? "serial" : "lot"
                add(
                    .missingLot, "\(p).\(field)",
                    "\(ref.product) is tracked by \(wanted) in Odoo; the event names no \(wanted)")
            default: break
            }
            if let qty, !qty.uom.isEmpty, let category = product.uomCategory,
                let given = data.uomCategory(qty.uom), given != category
            {
                add(
                    .uomMismatch, "\(p).\(qtyField).uom",
                    "\(qty.uom) (\(given)) is not a unit of \(ref.product), counted in \(category)")
            }
        }
        if case .operation(let o) = body, o.state == .completed, !event.workOrder.isEmpty,
            data.completedBefore(order: event.workOrder, operation: o.operation)
        {
            add(
                .duplicateCompletion, "\(p).state",
                "operation \(o.operation) of \(event.workOrder) was reported COMPLETED before")
        }
        return found
    }

    /// The items an event names with their quantity: (item field, item, quantity, quantity field).
    public static func items(_ body: EventBody) -> [(String, LotRef, Quantity?, String)] {
        switch body {
        case .received(let b): [("lot", b.lot, b.qty, "qty")]
        case .consumed(let b):
            [("component", b.component, b.qty, "qty")] + (b.into.map { [("into", $0, nil, "")] } ?? [])
        case .produced(let b): [("output", b.output, b.good, "good")]
        case .shipped(let b): [("lot", b.lot, b.qty, "qty")]
        case .scrapped(let b): [("lot", b.lot, b.qty, "qty")]
        case .moved(let b): [("lot", b.lot, b.qty, "qty")] + (b.newLot.map { [("new_lot", $0, nil, "")] } ?? [])
        case .quality(let b): [("lot", b.lot, nil, "")]
        case .packed(let b): b.contents.enumerated().map { ("contents[\($0.offset)]", $0.element, nil, "") }
        case .operation, .downtime: []
        }
    }

    /// One broken rule.
    public struct Finding: Sendable, Hashable {
        public var rule: Rule
        public var mode: Mode
        /// The field path, as a refusal names it (`consumed.qty.uom`).
        public var field: String
        public var detail: String
    }
}

public struct MasterDataRulesError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// What the rules read of the master data (the store's, at the time of the event).
public protocol MasterDataLookup {
    /// Whether any master data was read from Odoo (no rule judges before).
    var isLoaded: Bool { get }
    func product(_ code: String) -> MasterDataProductFacts?
    /// The category of a unit of measure by its name, or nil when unknown.
    func uomCategory(_ uom: String) -> String?
    /// Whether `name` is a work center's code, or else its name.
    func knowsWorkCenter(_ name: String) -> Bool
    /// Whether the store holds an uncorrected COMPLETED of this operation of this order.
    func completedBefore(order: String, operation: String) -> Bool
}

/// What the rules need of a product.
public struct MasterDataProductFacts: Sendable, Hashable {
    public enum Tracking: String, Sendable, Hashable { case none, lot, serial }
    public var tracking: Tracking
    /// Its unit's category (nil when unknown).
    public var uomCategory: String?

    public init(tracking: Tracking, uomCategory: String?) {
        self.tracking = tracking
        self.uomCategory = uomCategory
    }
}
