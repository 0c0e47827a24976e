#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
        if let order = utf8Order(a.name, b.name) { return order }
        if let order = utf8Order(a.text, b.text) { return order }
        let count = min(a.children.count, b.children.count)
        for i in 0..<count {
            if precedes(a.children[i], b.children[i]) { return true }
            if precedes(b.children[i], a.children[i]) { return false }
        }
        return a.children.count < b.children.count
    }
}

/// Code point order (UTF-8 byte order), as Python compares strings.
func utf8Precedes(_ a: String, _ b: String) -> Bool { utf8Order(a, b) ?? false }

/// Whether `a` sorts before `b` in code point order; nil when they are equal.
func utf8Order(_ a: String, _ b: String) -> Bool? {
    var a = a
    var b = b
    return a.withUTF8 { x in
        b.withUTF8 { y in
            let n = min(x.count, y.count)
            if n > 0, let px = x.baseAddress, let py = y.baseAddress {
                let c = memcmp(px, py, n)
                if c != 0 { return c < 0 }
            }
            return x.count == y.count ? nil : x.count < y.count
        }
    }
}
