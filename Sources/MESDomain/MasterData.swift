/// The kinds of master data Odoo publishes to the plant (issue 14, part 1). The raw values are the
/// store's `master_items.kind` and the CLI's words.
public enum MasterDataKind: String, Sendable, Hashable, Codable, CaseIterable {
    case product
    case bom
    case workCenter = "work_center"
    case uom
}

/// A product (`product.product`), keyed by its internal reference (`default_code`): the name
/// events give in `LotRef.product`.
public struct MasterProduct: Sendable, Hashable, Codable {
    public var code: String
    public var name: String
    /// Odoo's tracking: `none`, `lot` or `serial`.
    public var tracking: String
    /// The product's unit (`uom_id`), by name, e.g. `Units`, `kg`.
    public var uom: String
    /// The unit's category (17/18: `uom.category` name; 19: the name of the unit's root unit).
    public var uomCategory: String

    public init(code: String, name: String, tracking: String, uom: String, uomCategory: String) {
        self.code = code
        self.name = name
        self.tracking = tracking
        self.uom = uom
        self.uomCategory = uomCategory
    }

    /// Whether Odoo tracks it by lot or serial number.
    public var isTracked: Bool { tracking == "lot" || tracking == "serial" }
}

/// A unit of measure (`uom.uom`), keyed by its name.
public struct MasterUoM: Sendable, Hashable, Codable {
    public var name: String
    /// Units of one category convert into each other (17/18: `category_id`; 19, which has no
    /// categories: the root of the `relative_uom_id` chain, by name).
    public var category: String
    /// How many of the category's reference unit one of this unit is (kg → 1, g → 0.001 when kg is
    /// the reference; Dozens → 12).
    public var ratio: Double

    public init(name: String, category: String, ratio: Double) {
        self.name = name
        self.category = category
        self.ratio = ratio
    }
}

/// A work center (`mrp.workcenter`), keyed by its code, or by its name when it has none.
public struct MasterWorkCenter: Sendable, Hashable, Codable {
    public var code: String
    public var name: String

    public init(code: String, name: String) {
        self.code = code
        self.name = name
    }
}

/// A bill of materials (`mrp.bom`) with its components and its operations (the routing, which
/// Odoo keeps in the BoM since 14), keyed by its Odoo id.
public struct MasterBOM: Sendable, Hashable, Codable {
    /// One component (`mrp.bom.line`): `qty` in `uom` for `MasterBOM.qty` of the product.
    public struct Line: Sendable, Hashable, Codable {
        public var product: String
        public var qty: Double
        public var uom: String

        public init(product: String, qty: Double, uom: String) {
            self.product = product
            self.qty = qty
            self.uom = uom
        }
    }

    /// One operation (`mrp.routing.workcenter`); `workCenter` is the work center's key (code, else name).
    public struct Operation: Sendable, Hashable, Codable {
        public var sequence: Int
        public var name: String
        public var workCenter: String
        /// `time_cycle_manual`: minutes per cycle.
        public var minutes: Double

        public init(sequence: Int, name: String, workCenter: String, minutes: Double) {
            self.sequence = sequence
            self.name = name
            self.workCenter = workCenter
            self.minutes = minutes
        }
    }

    /// The product it makes, by code.
    public var product: String
    /// The BoM's reference (`code`), often empty.
    public var reference: String
    /// How much of the product the lines make (`product_qty`, in `uom`).
    public var qty: Double
    public var uom: String
    /// Odoo picks a product's BoM by `sequence`, then id, among active ones.
    public var sequence: Int
    public var active: Bool
    public var lines: [Line]
    public var operations: [Operation]

    public init(
        product: String, reference: String, qty: Double, uom: String, sequence: Int = 0, active: Bool = true,
        lines: [Line], operations: [Operation]
    ) {
        self.product = product
        self.reference = reference
        self.qty = qty
        self.uom = uom
        self.sequence = sequence
        self.active = active
        self.lines = lines
        self.operations = operations
    }

    /// What the lines expect for `produced` of the product (in the BoM's unit): each component's
    /// quantity scaled from `qty`, in the line's unit. Empty when `qty` is not positive.
    public func expected(for produced: Double) -> [Line] {
        guard qty > 0 else { return [] }
        return lines.map { Line(product: $0.product, qty: $0.qty * produced / qty, uom: $0.uom) }
    }
}

/// One item of master data, whichever its kind.
public enum MasterItem: Sendable, Hashable {
    case product(MasterProduct)
    case bom(MasterBOM)
    case workCenter(MasterWorkCenter)
    case uom(MasterUoM)

    public var kind: MasterDataKind {
        switch self {
        case .product: .product
        case .bom: .bom
        case .workCenter: .workCenter
        case .uom: .uom
        }
    }

    public var product: MasterProduct? { if case .product(let p) = self { p } else { nil } }
    public var bom: MasterBOM? { if case .bom(let b) = self { b } else { nil } }
    public var workCenter: MasterWorkCenter? { if case .workCenter(let w) = self { w } else { nil } }
    public var uom: MasterUoM? { if case .uom(let u) = self { u } else { nil } }

    /// The key the store keeps it under: a product's code, a BoM's Odoo id, a work center's code
    /// (else its name), a unit's name.
    public func key(odooID: Int64) -> String {
        switch self {
        case .product(let p): p.code
        case .bom: String(odooID)
        case .workCenter(let w): w.code.isEmpty ? w.name : w.code
        case .uom(let u): u.name
        }
    }

    /// What people call it: a product's code, a work center's code (else its name), a
    /// unit's name, a BoM's product (BoMs are keyed by Odoo id; see `MasterRevision.key`).
    public var name: String {
        switch self {
        case .product(let p): p.name
        case .bom(let b): b.reference.isEmpty ? b.product : "\(b.reference): \(b.product)"
        case .workCenter(let w): w.name
        case .uom(let u): u.name
        }
    }
}

/// One revision of an item as the store keeps it: never changed once written.
public struct MasterRevision: Sendable, Hashable {
    public var kind: MasterDataKind { item.kind }
    /// The item's key at this revision: product code, BoM's Odoo id, work center code (else name), unit name.
    public var key: String
    /// The record's id in Odoo.
    public var odooID: Int64
    /// 1 for the first content mesgate saw, one more for every change.
    public var revision: UInt64
    /// The store's order of all revisions of all items (`master_revisions.id`): followers read
    /// what came after the last they saw.
    public var sequence: Int64
    public var recordedAtMs: Int64
    /// Odoo's `write_date` of what was read (UTC, `YYYY-MM-DD HH:MM:SS`).
    public var odooWriteDate: String
    /// The fields that differ from the previous revision (empty for the first).
    public var changedFields: [String]
    public var item: MasterItem

    public init(
        key: String, odooID: Int64, revision: UInt64, sequence: Int64, recordedAtMs: Int64, odooWriteDate: String,
        changedFields: [String], item: MasterItem
    ) {
        self.key = key
        self.odooID = odooID
        self.revision = revision
        self.sequence = sequence
        self.recordedAtMs = recordedAtMs
        self.odooWriteDate = odooWriteDate
        self.changedFields = changedFields
        self.item = item
    }
}
