/// Number text as the reference hash implementation writes it: `float(text)`, then an integral
/// value as an integer (`5.0` → `5`, `1e3` → `1000`), otherwise Python's shortest `repr`.
enum PythonNumber {
    /// The normalised number, or nil when `text` is not a finite Python float literal.
    static func normalised(_ text: String) -> String? {
        guard let first = text.utf8.first else { return nil }
        // Fast rejection: a float literal starts with a digit, a sign, a point or space.
        guard (first >= 0x30 && first <= 0x39) || first == 0x2B || first == 0x2D || first == 0x2E || first == 0x20
        else {
            return nil
        }
        guard let cleaned = literal(text), let value = Double(cleaned), value.isFinite else { return nil }
        if value == value.rounded(.towardZero) { return integerText(value) }
        return shortestRepr(value)
    }

    /// The literal without underscores and surrounding whitespace when it follows Python's float
    /// grammar (decimal only; `inf` and `nan` give nil).
    private static func literal(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 || (bytes[start] >= 0x09 && bytes[start] <= 0x0D) { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || (bytes[end - 1] >= 0x09 && bytes[end - 1] <= 0x0D) { end -= 1 }
        var out: [UInt8] = []
        out.reserveCapacity(end - start)
        var i = start
        if i < end, bytes[i] == 0x2B || bytes[i] == 0x2D {
            out.append(bytes[i])
            i += 1
        }
        func digitPart() -> Int {
            var count = 0
            while i < end {
                let c = bytes[i]
                if c >= 0x30 && c <= 0x39 {
                    out.append(c)
                    count += 1
                    i += 1
                } else if c == 0x5F, count > 0, i + 1 < end, bytes[i + 1] >= 0x30, bytes[i + 1] <= 0x39 {
                    i += 1
                } else {
                    break
                }
            }
            return count
        }
        var mantissaDigits = digitPart()
        if i < end, bytes[i] == 0x2E {
            out.append(0x2E)
            i += 1
            mantissaDigits += digitPart()
        }
        guard mantissaDigits > 0 else { return nil }
        if i < end, bytes[i] | 0x20 == 0x65 {
            out.append(0x65)
            i += 1
            if i < end, bytes[i] == 0x2B || bytes[i] == 0x2D {
                out.append(bytes[i])
                i += 1
            }
            guard digitPart() > 0 else { return nil }
        }
        guard i == end else { return nil }
        if out.first == 0x2E || (out.count > 1 && out[1] == 0x2E && (out[0] == 0x2B || out[0] == 0x2D)) {
            out.insert(0x30, at: out[0] == 0x2E ? 0 : 1)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The exact decimal integer of an integral double.
    private static func integerText(_ value: Double) -> String {
        if abs(value) < 9.0e18 { return String(Int64(value)) }
        // value = significand × 2^exponent exactly; multiply out in decimal.
        var digits: [UInt8] = Array(String(UInt64(value.significandBitPattern | (1 << 52))).utf8).map { $0 - 0x30 }
        for _ in 0..<(Int(value.exponent) - 52) {
            var carry: UInt8 = 0
            for k in stride(from: digits.count - 1, through: 0, by: -1) {
                let d = digits[k] * 2 + carry
                digits[k] = d % 10
                carry = d / 10
            }
            if carry > 0 { digits.insert(carry, at: 0) }
        }
        return (value < 0 ? "-" : "") + String(decoding: digits.map { $0 + 0x30 }, as: UTF8.self)
    }

    /// Python's `repr` of a non-integral finite double: shortest round-trip digits, positional
    /// unless the decimal exponent is below -4 or at least 16.
    static func shortestRepr(_ value: Double) -> String {
        // Swift's description also gives the shortest round-trip digits; take them apart.
        let text = value.magnitude.description
        var digits: [UInt8] = []
        var pointAt: Int?
        var exponent = 0
        var index = text.utf8.startIndex
        while index < text.utf8.endIndex {
            let c = text.utf8[index]
            if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                exponent = Int(text[text.utf8.index(after: index)...]) ?? 0
                break
            }
            if c == UInt8(ascii: ".") { pointAt = digits.count } else { digits.append(c) }
            index = text.utf8.index(after: index)
        }
        var decimalPoint = (pointAt ?? digits.count) + exponent
        while digits.first == UInt8(ascii: "0"), digits.count > 1 {
            digits.removeFirst()
            decimalPoint -= 1
        }
        while digits.last == UInt8(ascii: "0"), digits.count > 1 { digits.removeLast() }
        let sign = value < 0 ? "-" : ""
        let d = String(decoding: digits, as: UTF8.self)
        if decimalPoint > 16 || decimalPoint < -3 {
            let e = decimalPoint - 1
            let mantissa = digits.count == 1 ? d : String(d.prefix(1)) + "." + d.dropFirst()
            let exponentText = abs(e) < 10 ? "0" + String(abs(e)) : String(abs(e))
            return sign + mantissa + "e" + (e < 0 ? "-" : "+") + exponentText
        }
        if decimalPoint <= 0 { return sign + "0." + String(repeating: "0", count: -decimalPoint) + d }
        if decimalPoint >= digits.count {
            return sign + d + String(repeating: "0", count: decimalPoint - digits.count) + ".0"
        }
        return sign + String(d.prefix(decimalPoint)) + "." + d.dropFirst(decimalPoint)
    }
}
