extension DigitalLinkNormaliser {
    /// Compiled once. `Regex<AnyRegexOutput>` is not `Sendable`, but these are immutable after
    /// initialisation and matching only reads them.
    nonisolated(unsafe) static let patterns: [Regex<AnyRegexOutput>] = DigitalLinkPatterns.sources.map {
        // The patterns are fixed strings checked by the hash-vector tests; a typo is a programming error.
        try! Regex($0)  // swift-format-ignore: NeverUseForceTry
    }

    static func matches(_ index: Int, _ text: String) -> Bool {
        (try? patterns[index].prefixMatch(in: text)) != nil
    }

    /// GTIN from company prefix and item reference (indicator digit first).
    private static func gtin(_ b: [UInt8], companyStart: Int, partition: Int) -> String {
        let company = slice(b, companyStart, partition)
        let itemRef = slice(b, partition + 1, partition + 1 + (13 - company.utf8.count))
        return String(itemRef.prefix(1)) + company + itemRef.dropFirst()
    }

    /// Company prefix and reference, 12 digits in all (GLN, GDTI, GRAI, GCN without the check digit).
    private static func companyAndReference(_ b: [UInt8], companyStart: Int, partition: Int) -> String {
        let company = slice(b, companyStart, partition)
        return company + slice(b, partition + 1, partition + 1 + (12 - company.utf8.count))
    }

    /// The EPC URI rules, in the reference's order.
    static func epcURI(_ uri: String, _ b: [UInt8], _ partition: Int) -> String? {
        if matches(0, uri) {
            let raw = gtin(b, companyStart: 17, partition: partition)
            return "https://id.gs1.org/01/" + raw + checkDigit(raw) + "/21/" + percentEncode(slice(b, 32))
        }
        if matches(1, uri) {
            let raw = slice(b, partition + 1, partition + 2) + slice(b, 16, partition) + slice(b, partition + 2)
            return "https://id.gs1.org/00/" + raw + checkDigit(raw)
        }
        if matches(2, uri) {
            let raw = companyAndReference(b, companyStart: 16, partition: partition)
            let extensionText = slice(b, 30)
            if extensionText == "0" { return "https://id.gs1.org/414/" + raw + checkDigit(raw) }
            return "https://id.gs1.org/414/" + raw + checkDigit(raw) + "/254/" + percentEncode(extensionText)
        }
        if matches(3, uri) {
            let raw = "0" + companyAndReference(b, companyStart: 16, partition: partition)
            return "https://id.gs1.org/8003/" + raw + checkDigit(raw) + percentEncode(slice(b, 30))
        }
        if matches(4, uri) {
            return "https://id.gs1.org/8004/" + slice(b, 16, partition) + percentEncode(slice(b, partition + 1))
        }
        if matches(5, uri) {
            let raw = slice(b, 16, partition) + slice(b, partition + 1)
            return "https://id.gs1.org/8018/" + raw + checkDigit(raw)
        }
        if matches(6, uri) {
            let raw = slice(b, 17, partition) + slice(b, partition + 1)
            return "https://id.gs1.org/8017/" + raw + checkDigit(raw)
        }
        if matches(7, uri) {
            let raw = companyAndReference(b, companyStart: 16, partition: partition)
            return "https://id.gs1.org/253/" + raw + checkDigit(raw) + percentEncode(slice(b, 30))
        }
        if matches(8, uri) {
            let separator = b.lastIndex(of: UInt8(ascii: ".")) ?? partition
            let raw = slice(b, 15, partition) + slice(b, partition + 1, separator)
            return "https://id.gs1.org/8010/" + percentEncode(raw) + "/8011/" + slice(b, separator + 1)
        }
        if matches(9, uri) {
            let raw = companyAndReference(b, companyStart: 16, partition: partition)
            return "https://id.gs1.org/255/" + raw + checkDigit(raw) + slice(b, 30)
        }
        if matches(10, uri) {
            return "https://id.gs1.org/401/" + slice(b, 16, partition) + percentEncode(slice(b, partition + 1))
        }
        if matches(11, uri) {
            let raw = slice(b, 16, partition) + slice(b, partition + 1)
            return "https://id.gs1.org/402/" + raw + checkDigit(raw)
        }
        if matches(12, uri) {
            let raw = gtin(b, companyStart: 16, partition: partition)
            return "https://id.gs1.org/8006/" + raw + checkDigit(raw) + slice(b, 31, 33) + slice(b, 34, 36) + "/21/"
                + percentEncode(slice(b, 37))
        }
        if matches(13, uri) {
            let raw = gtin(b, companyStart: 16, partition: partition)
            return "https://id.gs1.org/01/" + raw + checkDigit(raw) + "/235/" + percentEncode(slice(b, 31))
        }
        if matches(14, uri) {
            let raw = companyAndReference(b, companyStart: 16, partition: partition)
            return "https://id.gs1.org/417/" + raw + checkDigit(raw)
        }
        if matches(15, uri) {
            let raw = gtin(b, companyStart: 20, partition: partition)
            return "https://id.gs1.org/01/" + raw + checkDigit(raw) + "/10/" + percentEncode(slice(b, 35))
        }
        if matches(16, uri) {
            let raw = gtin(b, companyStart: 20, partition: partition)
            return "https://id.gs1.org/01/" + raw + checkDigit(raw)
        }
        if matches(17, uri) {
            let raw = "0" + companyAndReference(b, companyStart: 19, partition: partition)
            return "https://id.gs1.org/8003/" + raw + checkDigit(raw)
        }
        if matches(18, uri) {
            let raw = companyAndReference(b, companyStart: 19, partition: partition)
            return "https://id.gs1.org/253/" + raw + checkDigit(raw)
        }
        if matches(19, uri) {
            let raw = companyAndReference(b, companyStart: 19, partition: partition)
            return "https://id.gs1.org/255/" + raw + checkDigit(raw)
        }
        if matches(20, uri) {
            let separator = b.lastIndex(of: UInt8(ascii: ".")) ?? partition
            return "https://id.gs1.org/8010/"
                + percentEncode(slice(b, 18, partition) + slice(b, partition + 1, separator))
        }
        if matches(21, uri) {
            let raw = gtin(b, companyStart: 19, partition: partition)
            return "https://id.gs1.org/8006/" + raw + checkDigit(raw) + slice(b, 34, 36) + slice(b, 37, 39)
        }
        if matches(22, uri) {
            let raw = gtin(b, companyStart: 19, partition: partition)
            return "https://id.gs1.org/01/" + raw + checkDigit(raw)
        }
        return nil
    }

    private static let shortNames: [(String, String)] = [
        ("/gtin/", "/01/"), ("/itip/", "/8006/"), ("/cpid/", "/8010/"), ("/gln/", "/414/"), ("/party/", "/417/"),
        ("/gsrnp/", "/8017/"), ("/gsrn/", "/8018/"), ("/gcn/", "/255/"), ("/sscc/", "/00/"), ("/gdti/", "/253/"),
        ("/ginc/", "/401/"), ("/gsin/", "/402/"), ("/grai/", "/8003/"), ("/giai/", "/8004/"), ("/cpv/", "/22/"),
        ("/lot/", "/10/"), ("/ser/", "/21/"),
    ]
    private static let primaryKeys = [
        "/00/", "/01/", "/253/", "/255/", "/401/", "/402/", "/414/", "/417/", "/8003/", "/8004/", "/8006/", "/8010/",
        "/8017/", "/8018/",
    ]

    /// The GS1 Digital Link rules: canonical domain, AI codes for short names, 14-digit GTIN, no
    /// CPV, no lot beside a serial, no query; nil unless the result has a valid syntax.
    static func digitalLink(_ input: String) -> String? {
        guard matches(23, input) else { return nil }
        var uri = input
        if let query = uri.firstIndex(of: "?") { uri = String(uri[..<query]) }
        for (short, code) in shortNames where uri.contains(short) { uri = uri.replacing(short, with: code) }
        if !matches(24, uri) {
            for key in primaryKeys {
                if let range = uri.firstRange(of: key) {
                    uri = "https://id.gs1.org" + uri[range.lowerBound...]
                    break
                }
            }
        }
        if !matches(25, uri) {
            if matches(26, uri) {
                uri = uri.replacing("/01/", with: "/01/0")
            } else if matches(27, uri) {
                uri = uri.replacing("/01/", with: "/01/00")
            } else if matches(28, uri) {
                uri = uri.replacing("/01/", with: "/01/000000")
            }
        }
        let b = Array(uri.utf8)
        let cpvAt = uri.firstRange(of: "/22/").map { uri.utf8.distance(from: uri.startIndex, to: $0.lowerBound) } ?? -1
        let x = Array(b[min(max(cpvAt + 4, 0), b.count)...])
        let slashInX = x.firstIndex(of: UInt8(ascii: "/")) ?? -1
        if matches(29, uri) || matches(30, uri) {
            // Python: x[x.find('/'):-1]
            let from = slashInX >= 0 ? slashInX : x.count - 1
            uri =
                slice(b, 0, cpvAt)
                + String(decoding: x[min(from, max(x.count - 1, 0))..<max(x.count - 1, 0)], as: UTF8.self)
        } else if matches(31, uri) || matches(32, uri) {
            let from = slashInX >= 0 ? slashInX : x.count - 1
            uri = slice(b, 0, cpvAt) + String(decoding: x[min(from, x.count)...], as: UTF8.self)
        }
        if matches(33, uri) || matches(34, uri) {
            let c = Array(uri.utf8)
            if let lotRange = uri.firstRange(of: "/10/") {
                let lotAt = uri.utf8.distance(from: uri.startIndex, to: lotRange.lowerBound)
                let y = Array(c[(lotAt + 4)...])
                let slash = y.firstIndex(of: UInt8(ascii: "/")) ?? (y.count - 1)
                uri = slice(c, 0, lotAt) + String(decoding: y[slash...], as: UTF8.self)
            }
        }
        for index in 35...55 where matches(index, uri) { return uri }
        return nil
    }
}
