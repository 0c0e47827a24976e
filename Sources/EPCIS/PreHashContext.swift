/// What the pre-hash of an event needs from its document: the @context prefixes, and the CBV and
/// GS1 vocabulary IRIs that JSON-LD expansion gives the document's vocabulary-typed values. The
/// reference implementation replaces any bare string value that is the last segment of exactly
/// one of those IRIs by the IRI (`receiving` → `https://ref.gs1.org/cbv/BizStep-receiving`),
/// wherever the value stands; this type reproduces that.
struct PreHashContext {
    /// Prefix → IRI, from the document's @context.
    var namespaces: [String: String]
    /// The expanded IRIs starting with `https://ref.gs1.org/cbv` or `https://gs1.org/voc`.
    var expandedIRIs: [String]
    /// `expandedIRIs` as bytes, for the suffix comparisons.
    private var expandedIRIBytes: [[UInt8]]

    init(namespaces: [String: String], values: [JSONValue]) {
        self.namespaces = namespaces
        var found: Set<String> = []
        for value in values { Self.collect(value, scope: .top, namespaces: namespaces, into: &found) }
        expandedIRIs = found.sorted()
        expandedIRIBytes = expandedIRIs.map { Array($0.utf8) }
    }

    /// The IRI a bare value stands for, or the value itself.
    func replacingBareValue(_ value: String) -> String {
        if expandedIRIs.isEmpty { return value }
        var value = value
        return value.withUTF8 { v -> String? in
            guard let last = v.last else { return nil }
            var match: Int?
            for (k, iri) in expandedIRIBytes.enumerated() where iri.count > v.count && iri[iri.count - 1] == last {
                let offset = iri.count - v.count
                guard iri[offset - 1] == UInt8(ascii: "-") || iri[offset - 1] == UInt8(ascii: "/") else { continue }
                var same = true
                for j in 0..<v.count where iri[offset + j] != v[j] {
                    same = false
                    break
                }
                guard same else { continue }
                if match != nil { return nil }
                match = k
            }
            return match.map { expandedIRIs[$0] }
        } ?? value
    }

    /// A value with a declared prefix replaced by its IRI (`example:x` → `https://ns.example.com/x`).
    func expandingPrefix(ofValue value: String) -> String {
        if namespaces.isEmpty { return value }
        guard let colon = value.utf8.firstIndex(of: UInt8(ascii: ":")) else { return value }
        guard let iri = namespaces[String(value[..<colon])] else { return value }
        return iri + value[value.utf8.index(after: colon)...]
    }

    /// A key with a declared prefix written as `{IRI}local`, the XML model the hash is defined on.
    func expandingPrefix(ofKey key: String) -> String {
        if namespaces.isEmpty { return key }
        guard let colon = key.utf8.firstIndex(of: UInt8(ascii: ":")) else { return key }
        guard let iri = namespaces[String(key[..<colon])] else { return key }
        return "{" + iri + "}" + key[key.utf8.index(after: colon)...]
    }

    // MARK: - JSON-LD expansion of vocabulary-typed values (EPCIS 2.0 context)

    private enum Scope {
        case top, sourceOrDestination, bizTransaction, persistentDisposition, sensorElementList, sensorReport,
            errorDeclaration
    }

    private static func collect(
        _ value: JSONValue, scope: Scope, namespaces: [String: String], into found: inout Set<String>
    ) {
        switch value {
        case .array(let items):
            for item in items { collect(item, scope: scope, namespaces: namespaces, into: &found) }
        case .object(let members):
            for member in members {
                switch member.value {
                case .string, .array:
                    if let vocabulary = vocabulary(for: member.key, in: scope) {
                        expand(member.value, vocabulary: vocabulary, namespaces: namespaces, into: &found)
                    }
                default: break
                }
                switch member.value {
                case .object, .array:
                    if let inner = innerScope(member.key, scope) {
                        collect(member.value, scope: inner, namespaces: namespaces, into: &found)
                    }
                default: break
                }
            }
        default: return
        }
    }

    /// The scope below `key`: the EPCIS context's scoped contexts, else the same terms at the top.
    private static func innerScope(_ key: String, _ scope: Scope) -> Scope? {
        switch key {
        case "sourceList", "destinationList": .sourceOrDestination
        case "bizTransactionList": .bizTransaction
        case "persistentDisposition": .persistentDisposition
        case "sensorElementList": .sensorElementList
        case "sensorReport" where scope == .sensorElementList: .sensorReport
        case "errorDeclaration": .errorDeclaration
        default: scope == .top ? .top : nil
        }
    }

    private static func vocabulary(for key: String, in scope: Scope) -> CBVVocabulary.Kind? {
        switch scope {
        case .top: key == "bizStep" ? .bizStep : key == "disposition" ? .disposition : nil
        case .persistentDisposition: key == "set" || key == "unset" ? .disposition : nil
        case .sourceOrDestination: key == "type" ? .sourceOrDestinationType : nil
        case .bizTransaction: key == "type" ? .bizTransactionType : nil
        case .sensorReport:
            key == "type"
                ? .measurementType : key == "exception" ? .sensorAlertType : key == "component" ? .component : nil
        case .errorDeclaration: key == "reason" ? .errorReason : nil
        case .sensorElementList: nil
        }
    }

    private static func expand(
        _ value: JSONValue, vocabulary: CBVVocabulary.Kind, namespaces: [String: String], into found: inout Set<String>
    ) {
        if let items = value.arrayValue {
            for item in items { expand(item, vocabulary: vocabulary, namespaces: namespaces, into: &found) }
            return
        }
        guard let text = value.stringValue else { return }
        var iri: String?
        if let term = CBVVocabulary.iri(ofTerm: text, in: vocabulary) {
            iri = term
        } else if let colon = text.firstIndex(of: ":") {
            let prefix = String(text[..<colon])
            let rest = text[text.index(after: colon)...]
            if let base = namespaces[prefix] ?? CBVVocabulary.contextPrefixes[prefix] {
                iri = base + rest
            } else {
                iri = text
            }
        }
        if let iri, iri.hasPrefix("https://ref.gs1.org/cbv") || iri.hasPrefix("https://gs1.org/voc") {
            found.insert(iri)
        }
    }
}
