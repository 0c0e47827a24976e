/// Builds the CBV 2.0 pre-hash string of one event: a port of epcis-event-hash-generator's
/// `json_to_py`, `json_xml_model_mismatch_correction` and `hash_generator`, step by step, quirks
/// included (they decide the ids other systems compute).
enum PreHashBuilder {
    static func preHash(of event: JSONValue, context: PreHashContext, ignoring ignored: [String]) -> String {
        var root = correctStructure(tree(of: event, context: context, ignoring: ignored))
        var text = "eventType=" + root.name
        text += inOrder(&root.children, PreHashOrder.event)
        text += notInOrder(root.children)
        return text
    }

    // MARK: - JSON → tree (json_to_py)

    private static let unsortedMarkers: Set<String> = ["bizTransaction", "source", "destination"]

    static func tree(of value: JSONValue, context: PreHashContext, ignoring ignored: [String] = []) -> PreHashNode {
        switch value {
        case .array(let items):
            var node = PreHashNode(name: "", text: "", children: items.map { tree(of: $0, context: context) })
            let marked = items.contains { item in item.stringValue.map(unsortedMarkers.contains) ?? false }
            if !marked { node.children.sort(by: PreHashNode.precedes) }
            return node
        case .object(let members):
            var node = PreHashNode(name: "", text: "", children: [])
            var marked = false
            if let type = value["type"] {
                node.name = type.stringValue.map(context.replacingBareValue) ?? scalarText(type, context: context)
            }
            if let text = value["#text"] { node.text = scalarText(text, context: context) }
            node.children.reserveCapacity(members.count)
            for member in members {
                let key = member.key
                if unsortedMarkers.contains(key) { marked = true }
                if key == "#text" || key == "rdfs:comment" || key == "comment" || ignored.contains(key) { continue }
                let child = tree(of: member.value, context: context)
                let name = context.expandingPrefix(ofKey: key)
                if case .array = member.value {
                    for element in child.children {
                        node.children.append(PreHashNode(name: name, text: element.text, children: element.children))
                    }
                } else {
                    node.children.append(PreHashNode(name: name, text: child.text, children: child.children))
                }
            }
            if !marked { node.children.sort(by: PreHashNode.precedes) }
            return node
        default:
            return PreHashNode(name: "", text: scalarText(value, context: context), children: [])
        }
    }

    /// Python's `str()` of a scalar after the document-wide replacements.
    private static func scalarText(_ value: JSONValue, context: PreHashContext) -> String {
        switch value {
        case .string(let text): context.expandingPrefix(ofValue: context.replacingBareValue(text))
        case .number(let text): text
        case .bool(let flag): flag ? "True" : "False"
        case .null: "None"
        case .object, .array: ""
        }
    }

    // MARK: - JSON model → XML model (deep_structure_correction)

    private static let pairLists: Set<String> = ["sourceList", "destinationList", "bizTransactionList"]

    static func correctStructure(_ node: PreHashNode) -> PreHashNode {
        var rest: [PreHashNode] = []
        var listNames: [String] = []
        var lists: [String: [PreHashNode]] = [:]
        var childEPCs: [PreHashNode] = []
        for child in node.children {
            if !child.isPair && child.name.hasSuffix("List") {
                if lists[child.name] == nil { listNames.append(child.name) }
                lists[child.name, default: []].append(
                    PreHashNode(name: String(child.name.dropLast(4)), text: child.text, children: child.children))
            } else {
                rest.append(child)
            }
        }
        for name in listNames {
            let elements = lists[name] ?? []
            if pairLists.contains(name) {
                let pairs = elements.map {
                    PreHashNode(name: "", text: "", children: Array($0.children.prefix(2)), isPair: true)
                }
                rest.append(PreHashNode(name: name, text: "", children: pairs))
            } else {
                rest.append(PreHashNode(name: name, text: "", children: elements))
            }
        }
        rest.removeAll { child in
            guard !child.isPair, child.name == "childEPCs" else { return false }
            childEPCs.append(PreHashNode(name: "epc", text: child.text, children: []))
            return true
        }
        if !childEPCs.isEmpty { rest.append(PreHashNode(name: "childEPCs", text: "", children: childEPCs)) }
        let children = rest.map { child in
            child.isPair || pairLists.contains(child.name) ? child : correctStructure(child)
        }
        var name = node.name
        switch name {
        case "inputEPC", "outputEPC": name = "epc"
        case "inputQuantity", "outputQuantity", "childQuantity": name = "quantityElement"
        case "quantity" where !children.isEmpty: name = "quantityElement"
        default: break
        }
        return PreHashNode(name: name, text: node.text, children: children)
    }

    // MARK: - Pre-hash string (hash_generator)

    /// `_recurse_through_children_in_order`: the fields of `order`, in that order, each group's
    /// strings sorted; what it used up is removed from `list`.
    static func inOrder(_ list: inout [PreHashNode], _ order: [PreHashOrder]) -> String {
        let userExtensions = gatherUserExtensions(&list)
        var text = ""
        for entry in order {
            guard let name = entry.name else { continue }
            var values: [String] = []
            var i = 0
            while i < list.count {
                if !list[i].isPair && list[i].name == name {
                    let value = childText(&list[i], entry.children)
                    if !value.isEmpty { values.append(value) }
                    if list[i].children.isEmpty {
                        list.remove(at: i)
                        continue
                    }
                }
                i += 1
            }
            if values.count > 1 { values.sort(by: utf8Precedes) }
            for value in values { text += value }
        }
        if !userExtensions.isEmpty { text += generic(userExtensions) }
        return text
    }

    /// `_child_to_pre_hash_string`.
    private static func childText(_ child: inout PreHashNode, _ order: [PreHashOrder]?) -> String {
        var grandChildren = ""
        if let order, !order.isEmpty { grandChildren = inOrder(&child.children, order) }
        var text = ""
        if !child.text.isEmpty {
            text = PreHashValue.strip(child.text)
            if PreHashValue.isTimeField(child.name) {
                text = PreHashValue.timestamp(text)
            } else {
                text = PreHashValue.canonical(text)
            }
            if !text.isEmpty { text = "=" + text }
        }
        if text.isEmpty && grandChildren.isEmpty { return "" }
        return child.name + text + grandChildren
    }

    /// `_gather_user_extensions`: below the event, namespaced fields (`{https://…/}name`) are
    /// taken out and appended after their parent's ordered fields.
    private static func gatherUserExtensions(_ list: inout [PreHashNode]) -> [PreHashNode] {
        if list.count <= 1 { return [] }
        for child in list {
            if child.isPair {
                if let first = child.children.first,
                    first.name == "eventTime" || first.text == "eventTime" || first.name == "action"
                        || first.text == "action"
                {
                    return []
                }
            } else if child.name.contains("eventTime") || child.name.contains("action") {
                return []
            }
        }
        var extensions: [PreHashNode] = []
        list.removeAll { child in
            guard !child.isPair, child.name.contains("{"), child.name.contains("/}") else { return false }
            extensions.append(child)
            return true
        }
        return extensions
    }

    /// `_generic_child_list_to_prehash_string`: everything not in the fixed order, sorted unless
    /// it holds bizTransaction, source or destination values.
    static func generic(_ children: [PreHashNode]) -> String {
        var values: [String] = []
        values.reserveCapacity(children.count)
        var shouldSort = true
        for child in children {
            if child.isPair {
                values.append(generic(child.children))
                continue
            }
            if unsortedMarkers.contains(child.name) { shouldSort = false }
            var text = PreHashValue.strip(child.text)
            if !text.isEmpty { text = "=" + PreHashValue.canonical(text) }
            values.append(child.name + text + generic(child.children))
        }
        if children.count > 1 && shouldSort { values.sort(by: utf8Precedes) }
        return values.joined()
    }

    private static let excluded: Set<String> = ["recordTime", "eventID", "type", "errorDeclaration"]

    /// `_gather_elements_not_in_order`: what is left of the event, without the excluded fields.
    private static func notInOrder(_ children: [PreHashNode]) -> String {
        let remaining = children.filter { $0.isPair || !excluded.contains($0.name) }
        return remaining.isEmpty ? "" : generic(remaining)
    }
}
