/// `dl_normaliser` of the reference hash implementation: any URI carrying a GS1 key (EPC URI, EPC
/// class or pattern URI, GS1 Digital Link) to its constrained canonical GS1 Digital Link URI
/// (`urn:epc:id:sgtin:4012345.011111.987` → `https://id.gs1.org/01/04012345111118/21/987`); nil
/// for anything else. The canonical Digital Link forms take a fast path without regexes.
enum DigitalLinkNormaliser {
    static func normalise(_ uri: String) -> String? {
        let b = Array(uri.utf8)
        guard let partition = b.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        if startsWith(b, "https://id.gs1.org/"), let canonical = canonicalFastPath(b) { return canonical ? uri : nil }
        if startsWith(b, "urn:epc:") { return epcURI(uri, b, partition) }
        if startsWith(b, "http:") || startsWith(b, "https:") { return digitalLink(uri) }
        return nil
    }

    // MARK: - Helpers (Python slicing on ASCII bytes)

    static func startsWith(_ b: [UInt8], _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard b.count >= count else { return false }
        let p = prefix.utf8Start
        for i in 0..<count where b[i] != p[i] { return false }
        return true
    }

    static func slice(_ b: [UInt8], _ from: Int, _ to: Int? = nil) -> String {
        let end = min(to ?? b.count, b.count)
        let start = min(max(from, 0), end)
        return String(decoding: b[start..<end], as: UTF8.self)
    }

    /// The GS1 check digit of a key without it (GS1 General Specifications §7.9.1).
    static func checkDigit(_ key: String) -> String {
        var sum = 0
        for (position, byte) in key.utf8.reversed().enumerated() {
            let digit = Int(byte) - 0x30
            sum += position % 2 == 0 ? digit * 3 : digit
        }
        return String((10 - sum % 10) % 10)
    }

    static func percentEncode(_ text: String) -> String {
        guard text.utf8.contains(where: { "!()*+,:".utf8.contains($0) }) else { return text }
        var out = ""
        for c in text {
            switch c {
            case "!": out += "%21"
            case "(": out += "%28"
            case ")": out += "%29"
            case "*": out += "%2A"
            case "+": out += "%2B"
            case ",": out += "%2C"
            case ":": out += "%3A"
            default: out.append(c)
            }
        }
        return out
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// The characters the final syntax check allows in a serial, lot or CPV value
    /// (`[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]`).
    static func isDLValueChar(_ c: UInt8) -> Bool {
        c == 0x22 || c == 0x27 || c == 0x2D || c == 0x2E || (c >= 0x30 && c <= 0x39) || (c >= 0x3B && c <= 0x3F)
            || (c >= 0x41 && c <= 0x5A) || c == 0x5F || (c >= 0x61 && c <= 0x7A)
    }

    /// Canonical `https://id.gs1.org/01/<14>[/10|21/<v>]` and `/00/<18>`: true when the URI is its
    /// own normal form, nil when the general path must decide.
    private static func canonicalFastPath(_ b: [UInt8]) -> Bool? {
        let base = 19  // "https://id.gs1.org/".count
        func digitsRun(_ from: Int, _ count: Int) -> Bool {
            guard from + count <= b.count else { return false }
            for i in from..<(from + count) where !isDigit(b[i]) { return false }
            return true
        }
        if b.count == base + 21, b[base] == 0x30, b[base + 1] == 0x30, b[base + 2] == 0x2F, digitsRun(base + 3, 18) {
            return true
        }
        guard b.count >= base + 17, b[base] == 0x30, b[base + 1] == 0x31, b[base + 2] == 0x2F, digitsRun(base + 3, 14)
        else { return nil }
        if b.count == base + 17 { return true }
        let q = base + 17
        guard b.count > q + 4, b[q] == 0x2F, b[q + 3] == 0x2F,
            (b[q + 1] == 0x31 && b[q + 2] == 0x30) || (b[q + 1] == 0x32 && b[q + 2] == 0x31)
        else { return nil }
        let value = b[(q + 4)...]
        guard value.count <= 20, value.allSatisfy({ isDLValueChar($0) && $0 != 0x3F }) else { return nil }
        return true
    }
}
