public import MESDomain

/// EPC URIs and GS1 Digital Link URIs as the genealogy names things: a GTIN is the product, a
/// batch/lot (AI 10) the lot, a serial (AI 21) the serial, an SSCC (AI 00) a container.
public enum GS1Identifier {
    /// The genealogy reference of an instance-level identifier (an `epcList` entry, `parentID`,
    /// `childEPCs`): SGTIN → serial, SSCC → container, LGTIN/lot Digital Link → lot; any other URI
    /// names a container by the URI itself.
    public static func instance(_ uri: String) -> LotRef {
        if let ref = gs1Ref(uri) { return ref }
        return LotRef(container: uri)
    }

    /// The genealogy reference of a class-level identifier (a quantity element's `epcClass`):
    /// LGTIN or `/01/<gtin>/10/<lot>` → lot; a GTIN alone (`idpat:sgtin`, `/01/<gtin>`) → the
    /// product without a lot (untracked material); any other URI is both product and lot.
    public static func lotClass(_ uri: String) -> LotRef {
        if let ref = gs1Ref(uri) { return ref }
        return LotRef(product: uri, lot: uri)
    }

    /// The canonical GS1 Digital Link of `uri` when it carries a GS1 key (see `DigitalLinkNormaliser`).
    public static func canonicalDigitalLink(_ uri: String) -> String? { DigitalLinkNormaliser.normalise(uri) }

    private static func gs1Ref(_ uri: String) -> LotRef? {
        guard let link = DigitalLinkNormaliser.normalise(uri) else { return nil }
        let path = link.dropFirst("https://id.gs1.org/".count).split(separator: "/", omittingEmptySubsequences: false)
        guard path.count >= 2 else { return nil }
        switch path[0] {
        case "00":
            return LotRef(container: String(path[1]))
        case "01":
            let gtin = String(path[1])
            if path.count == 2 { return LotRef(product: gtin) }
            guard path.count == 4 else { return nil }
            let value = percentDecoded(String(path[3]))
            switch path[2] {
            case "10": return LotRef(product: gtin, lot: value)
            case "21": return LotRef(product: gtin, serial: value)
            default: return nil
            }
        default:
            return nil
        }
    }

    /// `%XX` escapes decoded (EPC URIs and Digital Links escape characters such as `/` in values).
    static func percentDecoded(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
                let value = UInt8(String(decoding: bytes[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
            {
                out.append(value)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
