import Crypto
import SQLite

/// The canonical bytes the audit trail hashes (genealogy/MODEL.md, "The audit trail"): each value
/// is a type byte and its contents, so that no two different value lists give the same bytes.
///
///     NULL    0x00
///     INTEGER 0x01, 8 bytes big-endian two's complement
///     REAL    0x02, the IEEE-754 bits, 8 bytes big-endian
///     TEXT    0x03, the UTF-8 length as 4 bytes big-endian, the UTF-8 bytes
///     BLOB    0x04, the length as 4 bytes big-endian, the bytes
struct AuditCanonical {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func append(_ value: SQLiteValue) {
        switch value {
        case .null: bytes.append(0)
        case .integer(let v): appendTagged(1, UInt64(bitPattern: v))
        case .real(let v): appendTagged(2, v.bitPattern)
        case .text(let v):
            bytes.append(3)
            var text = v
            text.withUTF8 { utf8 in
                appendLength(utf8.count)
                bytes.append(contentsOf: utf8)
            }
        case .blob(let v):
            bytes.append(4)
            appendLength(v.count)
            bytes.append(contentsOf: v)
        }
    }

    mutating func append(contentsOf values: [SQLiteValue]) {
        for value in values { append(value) }
    }

    /// Raw bytes with no type or length (the previous hash, always 32 bytes).
    mutating func appendRaw(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }

    private mutating func appendTagged(_ tag: UInt8, _ v: UInt64) {
        bytes.append(tag)
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift)))
        }
    }

    private mutating func appendLength(_ n: Int) {
        let v = UInt32(truncatingIfNeeded: n)
        bytes.append(contentsOf: [
            UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8),
            UInt8(truncatingIfNeeded: v),
        ])
    }

    /// SHA-256 of the bytes so far.
    var sha256: [UInt8] { Array(SHA256.hash(data: bytes)) }
}

/// The hashes of the audit trail, in one place for the writer, the backfill and `audit verify`.
enum AuditHash {
    /// `prev_hash` of entry 1.
    static let genesis = [UInt8](repeating: 0, count: 32)

    /// hash = SHA-256(prev_hash || canonical(id, at_ms, actor, action, subject, reason, detail, record_digest)).
    static func entry(
        prevHash: [UInt8], id: Int64, atMs: Int64, actor: String, action: String, subject: String, reason: String,
        detail: String, recordDigest: [UInt8]
    ) -> [UInt8] {
        var c = AuditCanonical(capacity: 96 + actor.utf8.count + subject.utf8.count + detail.utf8.count)
        c.appendRaw(prevHash)
        c.append(.integer(id))
        c.append(.integer(atMs))
        c.append(.text(actor))
        c.append(.text(action))
        c.append(.text(subject))
        c.append(.text(reason))
        c.append(.text(detail))
        c.append(.blob(recordDigest))
        return c.sha256
    }

    /// record_digest = SHA-256(canonical(table tag, the record's columns in `AuditRecord` order)).
    static func record(tag: String, _ values: [SQLiteValue]) -> [UInt8] {
        var c = AuditCanonical(capacity: 64 + values.count * 16)
        c.append(.text(tag))
        c.append(contentsOf: values)
        return c.sha256
    }
}

/// Lowercase hex of bytes, for hashes in messages and the CLI.
func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}
