/// Names one item of material: a lot (product, lot), a serial unit (product, serial, its lot
/// optional), a container (container alone), or untracked material (product alone).
public struct LotRef: Sendable, Hashable, CustomStringConvertible {
    public var product: String
    public var lot: String
    public var serial: String
    public var container: String

    public init(product: String = "", lot: String = "", serial: String = "", container: String = "") {
        self.product = product
        self.lot = lot
        self.serial = serial
        self.container = container
    }

    /// What a reference names, decided by which fields are set.
    public enum Kind: Sendable, Hashable {
        case lot
        case serial
        case container
        /// Untracked material: a product with no lot, serial or container.
        case untracked
        /// Nothing, or an incomplete combination (a lot or serial without a product).
        case incomplete
    }

    public var kind: Kind {
        if !container.isEmpty { return product.isEmpty && lot.isEmpty && serial.isEmpty ? .container : .incomplete }
        if product.isEmpty { return .incomplete }
        if !serial.isEmpty { return .serial }
        if !lot.isEmpty { return .lot }
        return .untracked
    }

    /// Whether nothing is set (an absent optional reference).
    public var isEmpty: Bool { product.isEmpty && lot.isEmpty && serial.isEmpty && container.isEmpty }

    /// Whether the reference is a node of the genealogy graph (untracked material is not).
    public var isTracked: Bool {
        switch kind {
        case .lot, .serial, .container: true
        case .untracked, .incomplete: false
        }
    }

    public var description: String {
        switch kind {
        case .container: "container \(container)"
        case .serial: lot.isEmpty ? "\(product) serial \(serial)" : "\(product) lot \(lot) serial \(serial)"
        case .lot: "\(product) lot \(lot)"
        case .untracked: "\(product) (untracked)"
        case .incomplete: "incomplete reference"
        }
    }
}

/// An amount in a unit of measure.
public struct Quantity: Sendable, Hashable {
    public var value: Double
    public var uom: String

    public init(value: Double, uom: String) {
        self.value = value
        self.uom = uom
    }
}
