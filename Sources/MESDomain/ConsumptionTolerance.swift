/// How far an order's actual consumption of a component may stray from what its bill of materials
/// expects for the quantity produced, as a fraction (0.05: 5 %): one for all, or per component
/// product, or per BoM line (`PRODUCT>COMPONENT`: that component in that product's BoM).
public struct ConsumptionTolerance: Sendable, Hashable {
    public var global: Double
    public var perComponent: [String: Double] = [:]
    /// By `PRODUCT>COMPONENT`.
    public var perLine: [String: Double] = [:]

    public init(global: Double = 0.05, perComponent: [String: Double] = [:], perLine: [String: Double] = [:]) {
        self.global = global
        self.perComponent = perComponent
        self.perLine = perLine
    }

    /// Reads `5%`, `5%,BOLT=10%`, `PUMP>SEAL=2%` (a bare number is a fraction: 0.05); `off` or a
    /// negative value: not checked.
    public init(parsing text: String) throws(MasterDataRulesError) {
        global = 0.05
        for item in text.split(separator: ",").map({ String($0.filter { $0 != " " }) }) where !item.isEmpty {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard let value = Self.fraction(parts.last ?? "") else {
                throw MasterDataRulesError("\(item): give a percentage (5%) or a fraction (0.05), optionally KEY=")
            }
            if parts.count == 1 {
                global = value
            } else if parts[0].contains(">") {
                perLine[parts[0]] = value
            } else {
                perComponent[parts[0]] = value
            }
        }
    }

    private static func fraction(_ text: String) -> Double? {
        if text == "off" { return -1 }
        if text.hasSuffix("%") { return Double(text.dropLast()).map { $0 / 100 } }
        return Double(text)
    }

    /// The tolerance of `component` in `product`'s BoM (negative: not checked).
    public func tolerance(product: String, component: String) -> Double {
        perLine["\(product)>\(component)"] ?? perComponent[component] ?? global
    }

    /// A component consumed outside the tolerance.
    public struct Finding: Sendable, Hashable {
        public var component: String
        /// What the BoM expects for the produced quantity, and what was consumed, in the BoM line's unit.
        public var expected: Double
        public var actual: Double
        public var uom: String
        public var tolerance: Double
        public var isOver: Bool { actual > expected }
    }

    /// Compares what an order consumed with what `bom` expects for `produced` (in the BoM's
    /// product unit, converted by `convert` within a unit category; nil: not convertible, the
    /// component is not judged). Components the BoM lists but the order never consumed count as 0.
    public func check(
        bom: BOMExpectation, produced: Quantity, consumed: [String: [Quantity]],
        convert: (Quantity, String) -> Double?
    ) -> [Finding] {
        guard bom.productQty > 0, let made = convert(produced, bom.productUom) else { return [] }
        var found: [Finding] = []
        for line in bom.lines {
            let allowed = tolerance(product: bom.product, component: line.component)
            guard allowed >= 0 else { continue }
            let expected = line.qty * made / bom.productQty
            var actual = 0.0
            var convertible = true
            for qty in consumed[line.component] ?? [] {
                guard let value = convert(qty, line.uom) else {
                    convertible = false
                    break
                }
                actual += value
            }
            guard convertible else { continue }
            let deviation = expected == 0 ? (actual == 0 ? 0 : .infinity) : abs(actual - expected) / expected
            if deviation > allowed + 1e-9 {
                found.append(
                    Finding(
                        component: line.component, expected: expected, actual: actual, uom: line.uom, tolerance: allowed
                    ))
            }
        }
        return found
    }
}

/// A bill of materials as the tolerance check reads it: `productQty` of `product` (in
/// `productUom`) take each line's `qty` of its component (in the line's `uom`).
public struct BOMExpectation: Sendable, Hashable {
    public struct Line: Sendable, Hashable {
        public var component: String
        public var qty: Double
        public var uom: String
        public init(component: String, qty: Double, uom: String) {
            self.component = component
            self.qty = qty
            self.uom = uom
        }
    }
    public var product: String
    public var productQty: Double
    public var productUom: String
    public var lines: [Line]
    /// The revision of the BoM the order was judged against.
    public var revision: Int64

    public init(product: String, productQty: Double, productUom: String, lines: [Line], revision: Int64 = 0) {
        self.product = product
        self.productQty = productQty
        self.productUom = productUom
        self.lines = lines
        self.revision = revision
    }
}
