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

    init(namespaces: [String: String], values: [JSONValue]) {
        self.namespaces = namespaces
        var found: Set<String> = []
        for value in values { Self.collect(value, scope: .top, namespaces: namespaces, into: &found) }
        expandedIRIs = found.sorted()
    }

    /// The IRI a bare value stands for, or the value itself.
    func replacingBareValue(_ value: String) -> String {
        if expandedIRIs.isEmpty { return value }
        var match: String?
        for iri in expandedIRIs where iri.utf8.count > value.utf8.count && iri.hasSuffix(value) {
            let before = iri.utf8[iri.utf8.index(iri.utf8.endIndex, offsetBy: -value.utf8.count - 1)]
            guard before == UInt8(ascii: "-") || before == UInt8(ascii: "/") else { continue }
            if match != nil { return value }
            match = iri
        }
        return match ?? value
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
                if let vocabulary = vocabulary(for: member.key, in: scope) {
                    expand(member.value, vocabulary: vocabulary, namespaces: namespaces, into: &found)
                }
                let inner: Scope? =
                    switch member.key {
                    case "sourceList", "destinationList": .sourceOrDestination
                    case "bizTransactionList": .bizTransaction
                    case "persistentDisposition": .persistentDisposition
                    case "sensorElementList": .sensorElementList
                    case "sensorReport" where scope == .sensorElementList: .sensorReport
                    case "errorDeclaration": .errorDeclaration
                    default: scope == .top ? .top : nil
                    }
                if let inner, member.value.members != nil || member.value.arrayValue != nil {
                    collect(member.value, scope: inner, namespaces: namespaces, into: &found)
                }
            }
        default: return
        }
    }

    private static func vocabulary(for key: String, in scope: Scope) -> CBVVocabulary.Kind? {
        switch (scope, key) {
        case (.top, "bizStep"): .bizStep
        case (.top, "disposition"): .disposition
        case (.persistentDisposition, "set"), (.persistentDisposition, "unset"): .disposition
        case (.sourceOrDestination, "type"): .sourceOrDestinationType
        case (.bizTransaction, "type"): .bizTransactionType
        case (.sensorReport, "type"): .measurementType
        case (.sensorReport, "exception"): .sensorAlertType
        case (.sensorReport, "component"): .component
        case (.errorDeclaration, "reason"): .errorReason
        default: nil
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
