import Foundation

/// Timestamps as people and EPCIS read them: Unix milliseconds plus the plant's offset (`+02:00`),
/// or this machine's, written as local time with that offset. No Foundation formatter: tens of
/// thousands per export or history (a `DateFormatter` a line made `mesgate history` spend 1.3 s of
/// CPU on 20,000 lines).
public struct LocalTime: Sendable {
    /// The offset in minutes east of UTC, and its text (`+02:00`; `+00:00` when absent or malformed).
    public let offsetMinutes: Int
    let offset: String

    /// The offset of `minutes` east of UTC.
    public init(offsetMinutes minutes: Int) {
        let m = abs(minutes)
        offsetMinutes = minutes
        offset = "\(minutes < 0 ? "-" : "+")\(Self.pad(m / 60, 2)):\(Self.pad(m % 60, 2))"
    }

    /// `zone`'s offset at `ms` (its summer time included), in whole minutes as the text shows it.
    public static func of(_ zone: TimeZone, at ms: Int64) -> LocalTime {
        LocalTime(offsetMinutes: zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(ms) / 1000)) / 60)
    }

    init(offset text: String) {
        let b = Array(text.utf8)
        func digit(_ i: Int) -> Int? { b[i] >= 48 && b[i] <= 57 ? Int(b[i] - 48) : nil }
        if b.count == 6, b[0] == UInt8(ascii: "+") || b[0] == UInt8(ascii: "-"), b[3] == UInt8(ascii: ":"),
            let h1 = digit(1), let h2 = digit(2), let m1 = digit(4), let m2 = digit(5),
            h1 * 10 + h2 <= 14, m1 * 10 + m2 < 60
        {
            let minutes = (h1 * 10 + h2) * 60 + m1 * 10 + m2
            offsetMinutes = b[0] == UInt8(ascii: "-") ? -minutes : minutes
            offset = text
        } else if text == "Z" {
            offsetMinutes = 0
            offset = "+00:00"
        } else {
            offsetMinutes = 0
            offset = "+00:00"
        }
    }

    static let utc = LocalTime(offset: "+00:00")

    /// The local date and time of `ms`: (year, month, day, hour, minute, second, millisecond).
    func fields(_ ms: Int64) -> (Int, Int, Int, Int, Int, Int, Int) {
        let local = ms + Int64(offsetMinutes) * 60_000
        var days = local >= 0 ? local / 86_400_000 : (local - 86_399_999) / 86_400_000
        let inDay = Int(local - days * 86_400_000)
        // Howard Hinnant's civil_from_days.
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yoe + era * 400) + (month <= 2 ? 1 : 0)
        return (
            year, month, day, inDay / 3_600_000, inDay / 60_000 % 60, inDay / 1000 % 60, inDay % 1000
        )
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// `2026-05-28T12:00:00.000+02:00` (xsd:dateTime, EPCIS eventTime).
    public func iso(_ ms: Int64) -> String {
        let (y, mo, d, h, mi, s, milli) = fields(ms)
        return "\(Self.pad(y, 4))-\(Self.pad(mo, 2))-\(Self.pad(d, 2))T\(Self.pad(h, 2)):\(Self.pad(mi, 2)):"
            + "\(Self.pad(s, 2)).\(Self.pad(milli, 3))\(offset)"
    }

    /// `2026-05-28`.
    func date(_ ms: Int64) -> String {
        let (y, mo, d, _, _, _, _) = fields(ms)
        return "\(Self.pad(y, 4))-\(Self.pad(mo, 2))-\(Self.pad(d, 2))"
    }

    /// `12:00:00+02:00`.
    func time(_ ms: Int64) -> String {
        let (_, _, _, h, mi, s, _) = fields(ms)
        return "\(Self.pad(h, 2)):\(Self.pad(mi, 2)):\(Self.pad(s, 2))\(offset)"
    }

    /// `2026-05-28 12:00:00 +02:00`, for reports.
    public func readable(_ ms: Int64) -> String { "\(date(ms)) \(time(ms).dropLast(6)) \(offset)" }
}
