import MESDomain

/// Identifiers of lots, serials, containers, parties and locations as URIs.
///
/// A product that is a GTIN (8, 12, 13 or 14 digits with a valid check digit) gets GS1 Digital Link
/// URIs: lot `https://id.gs1.org/01/<GTIN-14>/10/<lot>`, serial `…/21/<serial>`, the product alone
/// `https://id.gs1.org/01/<GTIN-14>`; a container of 18 digits with a valid check digit is an SSCC,
/// `https://id.gs1.org/00/<SSCC>`. Everything else gets mesgate's own URNs, every part
/// percent-encoded (all but `A-Z a-z 0-9 - . _ ~`, so `:` inside a value is `%3A`):
/// `urn:mesgate:lot:<product>:<lot>`, `urn:mesgate:serial:<product>:<serial>`,
/// `urn:mesgate:product:<product>`, `urn:mesgate:container:<container>`, `urn:mesgate:order:<work order>`,
/// `urn:mesgate:party:<name>`, `urn:mesgate:loc:<plant>:<location>`, `urn:mesgate:po:<purchase order>`,
/// `urn:mesgate:delivery:<delivery>`.
public enum LotURI {
    /// The GTIN-14 of `product`, or nil when it is not a GTIN.
    public static func gtin14(_ product: String) -> String? {
        let digits = Array(product.utf8)
        guard [8, 12, 13, 14].contains(digits.count), digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        guard checkDigitIsValid(digits) else { return nil }
        return String(repeating: "0", count: 14 - digits.count) + product
    }

    /// Whether the last digit is the GS1 mod-10 check digit of the others.
    static func checkDigitIsValid(_ digits: [UInt8]) -> Bool {
        var sum = 0
        for (i, d) in digits.dropLast().reversed().enumerated() { sum += Int(d - 48) * (i % 2 == 0 ? 3 : 1) }
        return (10 - sum % 10) % 10 == Int(digits[digits.count - 1] - 48)
    }

    /// The URI of a lot, serial or container; untracked material names its product class.
    public static func item(_ ref: LotRef) -> String {
        switch ref.kind {
        case .container:
            let digits = Array(ref.container.utf8)
            if digits.count == 18, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }), checkDigitIsValid(digits) {
                return "https://id.gs1.org/00/\(ref.container)"
            }
            return "urn:mesgate:container:" + encode(ref.container)
        case .serial:
            if let gtin = gtin14(ref.product) { return "https://id.gs1.org/01/\(gtin)/21/" + encode(ref.serial) }
            return "urn:mesgate:serial:" + encode(ref.product) + ":" + encode(ref.serial)
        case .lot:
            if let gtin = gtin14(ref.product) { return "https://id.gs1.org/01/\(gtin)/10/" + encode(ref.lot) }
            return "urn:mesgate:lot:" + encode(ref.product) + ":" + encode(ref.lot)
        case .untracked, .incomplete:
            return product(ref.product)
        }
    }

    /// The class URI of a product (no lot).
    public static func product(_ product: String) -> String {
        if let gtin = gtin14(product) { return "https://id.gs1.org/01/\(gtin)" }
        return "urn:mesgate:product:" + encode(product)
    }

    public static func order(_ name: String) -> String { "urn:mesgate:order:" + encode(name) }
    public static func party(_ name: String) -> String { "urn:mesgate:party:" + encode(name) }
    public static func location(plant: String, _ name: String) -> String {
        "urn:mesgate:loc:" + encode(plant) + ":" + encode(name)
    }
    public static func purchaseOrder(_ name: String) -> String { "urn:mesgate:po:" + encode(name) }
    public static func delivery(_ name: String) -> String { "urn:mesgate:delivery:" + encode(name) }

    /// Percent-encodes every byte but the RFC 3986 unreserved characters.
    public static func encode(_ value: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        for b in value.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
