import CProtobufC
public import MESDomain
import MESProtoC

/// `mes.v1.MasterData` messages: the filter in, items (one revision each) out; the decoders serve
/// the CLI's `--server` calls and tests. C messages are built in a `CArena` and freed with it.
public enum MasterDataCodec {
    /// A decoded `MasterDataFilter`: nil kind matches every kind, an empty key every item.
    public struct Filter: Sendable, Hashable {
        public var kind: MasterDataKind?
        public var key: String
        public var plant: String

        public init(kind: MasterDataKind? = nil, key: String = "", plant: String = "") {
            self.kind = kind
            self.key = key
            self.plant = plant
        }

        /// Whether `revision` passes the filter.
        public func matches(_ revision: MasterRevision) -> Bool {
            (kind == nil || revision.kind == kind) && (key.isEmpty || revision.key == key)
        }
    }

    public static func decodeFilter(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> Filter {
        guard
            let message = mes__v1__master_data_filter__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.MasterDataFilter") }
        defer { mes__v1__master_data_filter__free_unpacked(message, nil) }
        try RequestFieldCheck.check(bytes, message.pointee.base.descriptor)
        let f = message.pointee
        let kind: MasterDataKind?
        switch f.kind.rawValue {
        case 0: kind = nil
        case let raw:
            guard let known = Self.kind(raw) else {
                throw MessageDecodingError(field: "kind", reason: "is not a known kind (\(raw))")
            }
            kind = known
        }
        return Filter(
            kind: kind, key: try decodeString(f.key, field: "key"), plant: try decodeString(f.plant, field: "plant"))
    }

    public static func encodeFilter(_ filter: Filter) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__MasterDataFilter()
        mes__v1__master_data_filter__init(&message)
        message.kind = Mes__V1__MasterItem__Kind(rawValue: filter.kind.map(number) ?? 0)
        message.key = arena.string(filter.key)
        message.plant = arena.string(filter.plant)
        return pack(&message.base)
    }

    /// One `MasterItem`.
    public static func encode(_ revision: MasterRevision) -> [UInt8] {
        let arena = CArena()
        var message = Mes__V1__MasterItem()
        fill(&message, revision, arena)
        return pack(&message.base)
    }

    /// A `MasterDataList`.
    public static func encodeList(_ revisions: [MasterRevision]) -> [UInt8] {
        let arena = CArena()
        var initial = Mes__V1__MasterItem()
        mes__v1__master_item__init(&initial)
        var list = Mes__V1__MasterDataList()
        mes__v1__master_data_list__init(&list)
        list.n_items = revisions.count
        list.items = arena.messages(revisions, initial) { out, revision in fill(&out, revision, arena) }
        return pack(&list.base)
    }

    private static func number(_ kind: MasterDataKind) -> UInt32 {
        switch kind {
        case .product: 1
        case .bom: 2
        case .workCenter: 3
        case .uom: 4
        }
    }

    private static func kind(_ number: UInt32) -> MasterDataKind? {
        switch number {
        case 1: .product
        case 2: .bom
        case 3: .workCenter
        case 4: .uom
        default: nil
        }
    }

    private static func fill(_ m: inout Mes__V1__MasterItem, _ r: MasterRevision, _ arena: CArena) {
        mes__v1__master_item__init(&m)
        m.kind = Mes__V1__MasterItem__Kind(rawValue: number(r.kind))
        m.key = arena.string(r.key)
        m.odoo_id = r.odooID
        m.revision = r.revision
        m.recorded_at_ms = r.recordedAtMs
        m.odoo_write_date = arena.string(r.odooWriteDate)
        m.n_changed_fields = r.changedFields.count
        m.changed_fields = arena.strings(r.changedFields)
        switch r.item {
        case .product(let p):
            var c = Mes__V1__Product()
            mes__v1__product__init(&c)
            c.code = arena.string(p.code)
            c.name = arena.string(p.name)
            c.tracking = arena.string(p.tracking)
            c.uom = arena.string(p.uom)
            c.uom_category = arena.string(p.uomCategory)
            m.content_case = MES__V1__MASTER_ITEM__CONTENT_PRODUCT
            m.product = arena.array(1, c)
        case .bom(let b):
            var c = Mes__V1__BillOfMaterials()
            mes__v1__bill_of_materials__init(&c)
            c.product = arena.string(b.product)
            c.reference = arena.string(b.reference)
            c.qty = b.qty
            c.uom = arena.string(b.uom)
            c.sequence = Int32(clamping: b.sequence)
            c.active = b.active ? 1 : 0
            var line = Mes__V1__BillOfMaterials__Line()
            mes__v1__bill_of_materials__line__init(&line)
            c.n_lines = b.lines.count
            c.lines = arena.messages(b.lines, line) { out, l in
                out.product = arena.string(l.product)
                out.qty = l.qty
                out.uom = arena.string(l.uom)
            }
            var operation = Mes__V1__BillOfMaterials__Operation()
            mes__v1__bill_of_materials__operation__init(&operation)
            c.n_operations = b.operations.count
            c.operations = arena.messages(b.operations, operation) { out, o in
                out.sequence = Int32(clamping: o.sequence)
                out.name = arena.string(o.name)
                out.work_center = arena.string(o.workCenter)
                out.minutes = o.minutes
            }
            m.content_case = MES__V1__MASTER_ITEM__CONTENT_BOM
            m.bom = arena.array(1, c)
        case .workCenter(let w):
            var c = Mes__V1__WorkCenter()
            mes__v1__work_center__init(&c)
            c.code = arena.string(w.code)
            c.name = arena.string(w.name)
            m.content_case = MES__V1__MASTER_ITEM__CONTENT_WORK_CENTER
            m.work_center = arena.array(1, c)
        case .uom(let u):
            var c = Mes__V1__UnitOfMeasure()
            mes__v1__unit_of_measure__init(&c)
            c.name = arena.string(u.name)
            c.category = arena.string(u.category)
            c.ratio = u.ratio
            m.content_case = MES__V1__MASTER_ITEM__CONTENT_UOM
            m.uom = arena.array(1, c)
        }
    }

    // MARK: Decoding (CLI, tests)

    /// A `MasterDataList`'s items.
    public static func decodeList(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> [MasterRevision] {
        guard
            let message = mes__v1__master_data_list__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.MasterDataList") }
        defer { mes__v1__master_data_list__free_unpacked(message, nil) }
        var out: [MasterRevision] = []
        for i in 0..<message.pointee.n_items {
            guard let item = message.pointee.items[i] else { continue }
            out.append(try revision(item.pointee))
        }
        return out
    }

    /// One `MasterItem`.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> MasterRevision {
        guard
            let message = mes__v1__master_item__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("mes.v1.MasterItem") }
        defer { mes__v1__master_item__free_unpacked(message, nil) }
        return try revision(message.pointee)
    }

    private static func revision(_ m: Mes__V1__MasterItem) throws(MessageDecodingError) -> MasterRevision {
        func s(_ p: UnsafeMutablePointer<CChar>?, _ field: String) throws(MessageDecodingError) -> String {
            try decodeString(p, field: field)
        }
        let item: MasterItem
        switch m.content_case {
        case MES__V1__MASTER_ITEM__CONTENT_PRODUCT:
            guard let p = m.product?.pointee else { throw .malformed("mes.v1.Product") }
            item = .product(
                MasterProduct(
                    code: try s(p.code, "product.code"), name: try s(p.name, "product.name"),
                    tracking: try s(p.tracking, "product.tracking"), uom: try s(p.uom, "product.uom"),
                    uomCategory: try s(p.uom_category, "product.uom_category")))
        case MES__V1__MASTER_ITEM__CONTENT_BOM:
            guard let b = m.bom?.pointee else { throw .malformed("mes.v1.BillOfMaterials") }
            var lines: [MasterBOM.Line] = []
            for i in 0..<b.n_lines {
                guard let l = b.lines[i]?.pointee else { continue }
                lines.append(
                    .init(
                        product: try s(l.product, "bom.lines.product"), qty: l.qty, uom: try s(l.uom, "bom.lines.uom")))
            }
            var operations: [MasterBOM.Operation] = []
            for i in 0..<b.n_operations {
                guard let o = b.operations[i]?.pointee else { continue }
                operations.append(
                    .init(
                        sequence: Int(o.sequence), name: try s(o.name, "bom.operations.name"),
                        workCenter: try s(o.work_center, "bom.operations.work_center"), minutes: o.minutes))
            }
            item = .bom(
                MasterBOM(
                    product: try s(b.product, "bom.product"), reference: try s(b.reference, "bom.reference"),
                    qty: b.qty,
                    uom: try s(b.uom, "bom.uom"), sequence: Int(b.sequence), active: b.active != 0, lines: lines,
                    operations: operations))
        case MES__V1__MASTER_ITEM__CONTENT_WORK_CENTER:
            guard let w = m.work_center?.pointee else { throw .malformed("mes.v1.WorkCenter") }
            item = .workCenter(
                MasterWorkCenter(code: try s(w.code, "work_center.code"), name: try s(w.name, "work_center.name")))
        case MES__V1__MASTER_ITEM__CONTENT_UOM:
            guard let u = m.uom?.pointee else { throw .malformed("mes.v1.UnitOfMeasure") }
            item = .uom(
                MasterUoM(name: try s(u.name, "uom.name"), category: try s(u.category, "uom.category"), ratio: u.ratio))
        default:
            throw MessageDecodingError(field: "content", reason: "is not set")
        }
        var changed: [String] = []
        for i in 0..<m.n_changed_fields { changed.append(try s(m.changed_fields[i], "changed_fields")) }
        return MasterRevision(
            key: try s(m.key, "key"), odooID: m.odoo_id, revision: m.revision, sequence: 0,
            recordedAtMs: m.recorded_at_ms, odooWriteDate: try s(m.odoo_write_date, "odoo_write_date"),
            changedFields: changed, item: item)
    }
}
