/// One element of the XML-shaped tree the CBV hash is defined on: a name, a text value and
/// children. `isPair` marks the (type, value) entries of bizTransactionList, sourceList and
/// destinationList, which the reference implementation keeps as pairs of their first two members.
struct PreHashNode {
    var name: String
    var text: String
    var children: [PreHashNode]
    var isPair = false

    init(name: String, text: String, children: [PreHashNode], isPair: Bool = false) {
        self.name = name
        self.text = text
        self.children = children
        self.isPair = isPair
    }

    /// The order of Python tuples (name, text, children): code point order of the strings, then
    /// the children lexicographically.
    static func precedes(_ a: PreHashNode, _ b: PreHashNode) -> Bool {
        if a.name != b.name { return utf8Precedes(a.name, b.name) }
        if a.text != b.text { return utf8Precedes(a.text, b.text) }
        let count = min(a.children.count, b.children.count)
        for i in 0..<count {
            if precedes(a.children[i], b.children[i]) { return true }
            if precedes(b.children[i], a.children[i]) { return false }
        }
        return a.children.count < b.children.count
    }
}

/// Code point order (UTF-8 byte order), as Python compares strings.
@inline(__always)
func utf8Precedes(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}
