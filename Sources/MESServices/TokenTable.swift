internal import Crypto
import Foundation

/// The tokens of `--tokens FILE`: one line per token, `<client-name> <role> sha256:<64 hex>`.
/// Blank lines and lines starting with `#` are ignored. A client may have several lines (several
/// tokens, for rotation). Only hashes are kept: the file never holds a token.
public struct TokenTable: Sendable {
    /// One accepted token.
    public struct Entry: Sendable, Equatable {
        public var client: String
        public var role: Role
        /// SHA-256 of the token's UTF-8 bytes.
        public var hash: [UInt8]
    }

    public let entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// A malformed token file: which line and why (never the line itself: it may hold a secret
    /// pasted by mistake).
    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses the text of a token file.
    public static func parse(_ text: String) throws(ParseError) -> TokenTable {
        var entries: [Entry] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let number = index + 1
            guard fields.count == 3 else {
                throw ParseError(description: "line \(number): expected <client-name> <role> sha256:<hex>")
            }
            guard let role = Role(rawValue: String(fields[1])) else {
                throw ParseError(description: "line \(number): role must be mes, quality, auditor or admin")
            }
            guard fields[2].hasPrefix("sha256:"), let hash = hexBytes(fields[2].dropFirst(7)), hash.count == 32 else {
                throw ParseError(description: "line \(number): the hash must be sha256: and 64 hex digits")
            }
            entries.append(Entry(client: String(fields[0]), role: role, hash: hash))
        }
        return TokenTable(entries: entries)
    }

    /// Reads and parses a token file.
    public static func load(path: String) throws(ParseError) -> TokenTable {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ParseError(description: "cannot read token file \(path)")
        }
        do {
            return try parse(String(decoding: data, as: UTF8.self))
        } catch {
            throw ParseError(description: "token file \(path): \(error.description)")
        }
    }

    /// The entry whose hash is the token's SHA-256, or nil. Compares against every entry without
    /// stopping early and without data-dependent branches inside a comparison, so the time taken
    /// tells nothing about which bytes matched.
    public func authenticate(token: String) -> Entry? {
        let presented = Array(SHA256.hash(data: Array(token.utf8)))
        var found: Int = -1
        for (index, entry) in entries.enumerated() {
            var difference: UInt8 = 0
            for i in 0..<32 { difference |= presented[i] ^ entry.hash[i] }
            // Branch-free select: mask is all ones when difference == 0.
            let isMatch = Int(bitPattern: UInt(difference == 0 ? 1 : 0))
            found = (found & ~(0 &- isMatch)) | (index & (0 &- isMatch))
        }
        return found >= 0 ? entries[found] : nil
    }

    /// "sha256:<hex>" for a token: what to put in the file.
    public static func hashLine(token: String) -> String {
        "sha256:" + SHA256.hash(data: Array(token.utf8)).map { String($0, radix: 16).leftPadded() }.joined()
    }

    private static func hexBytes(_ text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let high = hexValue(digits[i]), let low = hexValue(digits[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
            i += 2
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension String {
    fileprivate func leftPadded() -> String { count < 2 ? "0" + self : self }
}
