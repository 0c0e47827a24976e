/// Value normalisation of the CBV 2.0 pre-hash: old CBV URNs to web vocabulary, numbers without
/// redundant digits, GS1 keys to canonical Digital Link, times to UTC milliseconds.
enum PreHashValue {
    /// Python's `str.strip()` for the whitespace that occurs in JSON text.
    static func strip(_ text: String) -> String {
        guard let first = text.utf8.first, let last = text.utf8.last else { return text }
        if !isSpace(first) && !isSpace(last) && first < 0x80 && last < 0x80 { return text }
        return String(
            text.trimmingPrefix(while: \.isWhitespace).reversed().trimmingPrefix(while: \.isWhitespace).reversed())
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) || (byte >= 0x1C && byte <= 0x1F)
    }

    /// Whether a field's value is normalised as a time: its name contains "time" and not "offset".
    static func isTimeField(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.contains("time") && !lower.contains("offset")
    }

    /// `_canonize_value`: web vocabulary, then number, then GS1 Digital Link.
    static func canonical(_ text: String) -> String {
        var value = text
        if value.contains("urn:epcglobal:cbv:") { value = webVocabulary(value) }
        if let number = PythonNumber.normalised(value) { value = number }
        return DigitalLinkNormaliser.normalise(value) ?? value
    }

    private static func webVocabulary(_ text: String) -> String {
        text.replacing("urn:epcglobal:cbv:bizstep:", with: "https://ref.gs1.org/cbv/BizStep-")
            .replacing("urn:epcglobal:cbv:disp:", with: "https://ref.gs1.org/cbv/Disp-")
            .replacing("urn:epcglobal:cbv:btt:", with: "https://ref.gs1.org/cbv/BTT-")
            .replacing("urn:epcglobal:cbv:sdt:", with: "https://ref.gs1.org/cbv/SDT-")
            .replacing("urn:epcglobal:cbv:er:", with: "https://ref.gs1.org/cbv/ER-")
    }

    /// `_fix_time_stamp_format`: an ISO 8601 time as UTC with milliseconds (`…T10:00:30.000Z`),
    /// microseconds rounded half to even; text that is not a time is returned unchanged.
    static func timestamp(_ text: String) -> String {
        guard let time = ISOTimestamp(text) else { return text }
        return time.utcMilliseconds
    }
}
