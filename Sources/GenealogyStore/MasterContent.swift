import Foundation
import MESDomain

/// The JSON of master data as `master_revisions` keeps it: an item's content (keys sorted, so
/// equal content is equal text) and the list of fields a revision changed.
enum MasterContent {
    static func encode(_ item: MasterItem) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data?
        switch item {
        case .product(let p): data = try? encoder.encode(p)
        case .bom(let b): data = try? encoder.encode(b)
        case .workCenter(let w): data = try? encoder.encode(w)
        case .uom(let u): data = try? encoder.encode(u)
        }
        // Plain structs of strings and numbers: encoding cannot fail (a NaN qty aside, kept as {}).
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static func decode(_ kind: MasterDataKind, _ text: String) -> MasterItem? {
        let data = Data(text.utf8)
        let decoder = JSONDecoder()
        switch kind {
        case .product: return (try? decoder.decode(MasterProduct.self, from: data)).map(MasterItem.product)
        case .bom: return (try? decoder.decode(MasterBOM.self, from: data)).map(MasterItem.bom)
        case .workCenter: return (try? decoder.decode(MasterWorkCenter.self, from: data)).map(MasterItem.workCenter)
        case .uom: return (try? decoder.decode(MasterUoM.self, from: data)).map(MasterItem.uom)
        }
    }

    static func encodeList(_ fields: [String]) -> String {
        (try? JSONEncoder().encode(fields)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    static func decodeList(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    /// The top-level fields whose values differ, by name; a BoM's lines and operations are named
    /// one by one (`lines.STEEL`, `operations.cut`): added, removed or changed.
    static func changedFields(from old: MasterItem, to new: MasterItem) -> [String] {
        var changed = differingKeys(encode(old), encode(new))
        if let a = old.bom, let b = new.bom {
            changed.removeAll { $0 == "lines" || $0 == "operations" }
            changed += differing(a.lines, b.lines, by: \.product).map { "lines.\($0)" }
            changed += differing(a.operations, b.operations, by: \.name).map { "operations.\($0)" }
        }
        return changed
    }

    private static func differingKeys(_ a: String, _ b: String) -> [String] {
        func object(_ text: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        }
        func canonical(_ value: Any?) -> String {
            guard let value else { return "" }
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
            return data.map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
        let (x, y) = (object(a), object(b))
        return Set(x.keys).union(y.keys).sorted().filter { canonical(x[$0]) != canonical(y[$0]) }
    }

    private static func differing<T: Equatable>(_ a: [T], _ b: [T], by name: (T) -> String) -> [String] {
        var names: [String] = []
        for element in a + b {
            let n = name(element)
            if !names.contains(n) { names.append(n) }
        }
        return names.filter { n in a.filter { name($0) == n } != b.filter { name($0) == n } }
    }
}
