import MESDomain

/// Master data as `mesgate masterdata` prints it.
enum MasterDataText {
    /// One line: kind, key, name, revision, Odoo id.
    static func line(_ r: MasterRevision) -> String {
        let name = r.item.name == r.key ? "" : " (\(r.item.name))"
        return "\(r.kind.rawValue) \(r.key)\(name)  revision \(r.revision)  [odoo id \(r.odooID)]"
    }

    /// The item's content, a line per fact.
    static func details(_ item: MasterItem) -> [String] {
        switch item {
        case .product(let p):
            return ["name: \(p.name)", "tracking: \(p.tracking)", "unit: \(p.uom) (category \(p.uomCategory))"]
        case .bom(let b):
            var lines = ["makes \(b.qty) \(b.uom) of \(b.product)\(b.active ? "" : " (archived)")"]
            if !b.reference.isEmpty { lines.append("reference: \(b.reference)") }
            lines += b.lines.map { "component \($0.product): \($0.qty) \($0.uom)" }
            lines += b.operations.map { "operation \($0.sequence) \($0.name) at \($0.workCenter): \($0.minutes) min" }
            return lines
        case .workCenter(let w):
            return ["code: \(w.code.isEmpty ? "(none)" : w.code)", "name: \(w.name)"]
        case .uom(let u):
            return ["category: \(u.category)", "ratio to the category's reference unit: \(u.ratio)"]
        }
    }

    /// The revision as JSON.
    static func object(_ r: MasterRevision) -> [String: Any] {
        var content: [String: Any]
        switch r.item {
        case .product(let p):
            content = [
                "code": p.code, "name": p.name, "tracking": p.tracking, "uom": p.uom, "uom_category": p.uomCategory,
            ]
        case .bom(let b):
            content = [
                "product": b.product, "reference": b.reference, "qty": b.qty, "uom": b.uom, "sequence": b.sequence,
                "active": b.active,
                "lines": b.lines.map { ["product": $0.product, "qty": $0.qty, "uom": $0.uom] as [String: Any] },
                "operations": b.operations.map {
                    ["sequence": $0.sequence, "name": $0.name, "work_center": $0.workCenter, "minutes": $0.minutes]
                        as [String: Any]
                },
            ]
        case .workCenter(let w): content = ["code": w.code, "name": w.name]
        case .uom(let u): content = ["name": u.name, "category": u.category, "ratio": u.ratio]
        }
        return [
            "kind": r.kind.rawValue, "key": r.key, "odoo_id": r.odooID, "revision": r.revision,
            "recorded_at_ms": r.recordedAtMs, "odoo_write_date": r.odooWriteDate, "changed_fields": r.changedFields,
            "content": content,
        ]
    }
}
