/// Builds the CBV 2.0 pre-hash string of one event: a port of epcis-event-hash-generator's
/// `json_to_py`, `json_xml_model_mismatch_correction` and `hash_generator`, step by step, quirks
/// included (they decide the ids other systems compute).
enum PreHashBuilder {
    static func preHash(of event: JSONValue, context: PreHashContext, ignoring ignored: [String]) -> String {
        var root = correctStructure(tree(of: event, context: context, ignoring: ignored, isRoot: true))
        var text = "eventType=" + root.name
        text += inOrder(&root.children, PreHashOrder.event)
        text += notInOrder(root.children)
        return text
    }

    // MARK: - JSON → tree (json_to_py)

    static func tree(
        of value: JSONValue, context: PreHashContext, ignoring ignored: [String] = [], isRoot: Bool = false
    ) -> PreHashNode {
        switch value {
        case .array(let items):
            var node = PreHashNode(name: "", text: "", children: items.map { tree(of: $0, context: context) })
            let marked = items.contains { item in
                guard case .string(let text) = item else { return false }
                return text == "bizTransaction" || text == "source" || text == "destination"
            }
            if !marked { node.children.sort(by: PreHashNode.precedes) }
            return node
        case .object(let members):
            var node = PreHashNode(name: "", text: "", children: [])
            var marked = false
            var typeSeen = false
            var textSeen = false
            node.children.reserveCapacity(members.count)
            for member in members {
                let key = member.key
                // Only the event's own name (its type) is used: below it, a parent's key names the node.
                if isRoot, !typeSeen, key == "type" {
                    typeSeen = true
                    node.name =
                        member.value.stringValue.map(context.replacingBareValue)
                        ?? scalarText(member.value, context: context)
                }
                if key == "bizTransaction" || key == "source" || key == "destination" { marked = true }
                if key == "#text" {
                    if !textSeen { node.text = scalarText(member.value, context: context) }
                    textSeen = true
                    continue
                }
                if key == "rdfs:comment" || key == "comment" || (!ignored.isEmpty && ignored.contains(key)) { continue }
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
        if node.children.isEmpty {
            switch node.name {
            case "inputEPC", "outputEPC": return PreHashNode(name: "epc", text: node.text, children: [])
            case "inputQuantity", "outputQuantity", "childQuantity":
                return PreHashNode(name: "quantityElement", text: node.text, children: [])
            default: return node
            }
        }
        var rest: [PreHashNode] = []
        rest.reserveCapacity(node.children.count)
        var lists: [(name: String, elements: [PreHashNode])] = []
        var childEPCs: [PreHashNode] = []
        for child in node.children {
            if !child.isPair && endsWithList(child.name) {
                let element = PreHashNode(
                    name: String(child.name.dropLast(4)), text: child.text, children: child.children)
                if let k = lists.firstIndex(where: { $0.name == child.name }) {
                    lists[k].elements.append(element)
                } else {
                    lists.append((child.name, [element]))
                }
            } else if !child.isPair && child.name == "childEPCs" {
                childEPCs.append(PreHashNode(name: "epc", text: child.text, children: []))
            } else {
                rest.append(child)
            }
        }
        for (name, elements) in lists {
            if isPairList(name) {
                let pairs = elements.map {
                    PreHashNode(name: "", text: "", children: Array($0.children.prefix(2)), isPair: true)
                }
                rest.append(PreHashNode(name: name, text: "", children: pairs))
            } else {
                rest.append(PreHashNode(name: name, text: "", children: elements))
            }
        }
        if !childEPCs.isEmpty { rest.append(PreHashNode(name: "childEPCs", text: "", children: childEPCs)) }
        for i in rest.indices where !rest[i].isPair && !isPairList(rest[i].name) {
            rest[i] = correctStructure(rest[i])
        }
        var name = node.name
        switch name {
        case "inputEPC", "outputEPC": name = "epc"
        case "inputQuantity", "outputQuantity", "childQuantity", "quantity": name = "quantityElement"
        default: break
        }
        return PreHashNode(name: name, text: node.text, children: rest)
    }

    private static func isPairList(_ name: String) -> Bool {
        name == "sourceList" || name == "destinationList" || name == "bizTransactionList"
    }

    private static func endsWithList(_ name: String) -> Bool {
        let u = name.utf8
        guard u.count >= 4 else { return false }
        var i = u.index(u.endIndex, offsetBy: -4)
        for c in "List".utf8 {
            guard u[i] == c else { return false }
            i = u.index(after: i)
        }
        return true
    }

    // MARK: - Pre-hash string (hash_generator)

    /// `_recurse_through_children_in_order`: the fields of `order`, in that order, each group's
    /// strings sorted; what it used up is removed from `list`.
    static func inOrder(_ list: inout [PreHashNode], _ order: [PreHashOrder]) -> String {
        let userExtensions = gatherUserExtensions(&list)
        // One pass over the children: which order entry each belongs to (the reference loops
        // order × children; grouping keeps each entry's children in list order, as it does).
        var slots: [Int] = []
        slots.reserveCapacity(list.count)
        var any = false
        for child in list {
            var slot = -1
            if !child.isPair {
                let count = child.name.utf8.count
                for (k, entry) in order.enumerated() where entry.nameCount == count && entry.name == child.name {
                    slot = k
                    break
                }
            }
            if slot >= 0 { any = true }
            slots.append(slot)
        }
        var text = ""
        if any {
            var consumed = [Bool](repeating: false, count: list.count)
            for k in order.indices {
                var values: [String] = []
                for i in list.indices where slots[i] == k {
                    let value = childText(&list[i], order[k].children)
                    if !value.isEmpty { values.append(value) }
                    if list[i].children.isEmpty { consumed[i] = true }
                }
                if values.count > 1 { values.sort(by: utf8Precedes) }
                for value in values { text += value }
            }
            var kept: [PreHashNode] = []
            kept.reserveCapacity(list.count)
            for i in list.indices where !consumed[i] { kept.append(list[i]) }
            list = kept
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
            } else if PreHashValue.contains(child.name, "eventTime") || PreHashValue.contains(child.name, "action") {
                return []
            }
        }
        var extensions: [PreHashNode] = []
        list.removeAll { child in
            guard !child.isPair, PreHashValue.contains(child.name, "{"), PreHashValue.contains(child.name, "/}") else {
                return false
            }
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
            if child.name == "bizTransaction" || child.name == "source" || child.name == "destination" {
                shouldSort = false
            }
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
