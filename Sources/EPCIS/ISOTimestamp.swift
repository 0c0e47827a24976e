/// An ISO 8601 / xsd:dateTime time stamp: `2020-03-04T11:00:30.000+01:00`, `…Z`, `…+0100`, or
/// without a zone (taken as UTC by the hash, refused by import validation).
public struct ISOTimestamp: Sendable, Hashable {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
    /// The first six digits of the fraction.
    public var microsecond: Int
    /// The zone offset in minutes east of UTC; nil when the text has no zone.
    public var offsetMinutes: Int?

    public init?(_ text: String) {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ count: Int) -> Int? {
            guard i + count <= b.count else { return nil }
            var value = 0
            for k in 0..<count {
                let c = b[i + k]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                value = value * 10 + Int(c - 0x30)
            }
            i += count
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(UInt8(ascii: "-")), let month = digits(2), expect(UInt8(ascii: "-")),
            let day = digits(2)
        else { return nil }
        guard i < b.count, b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: " ") else { return nil }
        i += 1
        guard let hour = digits(2), expect(UInt8(ascii: ":")), let minute = digits(2), expect(UInt8(ascii: ":")),
            let second = digits(2)
        else { return nil }
        var microsecond = 0
        if i < b.count, b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",") {
            i += 1
            var count = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                if count < 6 { microsecond = microsecond * 10 + Int(b[i] - 0x30) }
                count += 1
                i += 1
            }
            guard count > 0 else { return nil }
            for _ in count..<max(count, 6) { microsecond *= 10 }
        }
        var offset: Int?
        if i < b.count {
            if b[i] == UInt8(ascii: "Z") {
                i += 1
                offset = 0
            } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
                i += 1
                guard let hours = digits(2) else { return nil }
                var minutes = 0
                if i < b.count {
                    _ = expect(UInt8(ascii: ":"))
                    guard let m = digits(2) else { return nil }
                    minutes = m
                }
                guard hours <= 23, minutes <= 59 else { return nil }
                offset = sign * (hours * 60 + minutes)
            }
        }
        guard i == b.count else { return nil }
        guard (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year), hour <= 23,
            minute <= 59,
            second <= 59
        else { return nil }
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (
            year, month, day, hour, minute, second
        )
        self.microsecond = microsecond
        self.offsetMinutes = offset
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Seconds since the Unix epoch, UTC (a missing zone counts as UTC).
    public var epochSeconds: Int {
        Self.days(year: year, month: month, day: day) * 86400 + hour * 3600 + minute * 60 + second
            - (offsetMinutes ?? 0) * 60
    }

    /// Milliseconds since the Unix epoch, UTC, microseconds truncated.
    public var epochMilliseconds: Int64 { Int64(epochSeconds) * 1000 + Int64(microsecond / 1000) }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, microseconds rounded half to even to milliseconds.
    public var utcMilliseconds: String {
        var milliseconds = microsecond / 1000
        let rest = microsecond % 1000
        if rest > 500 || (rest == 500 && milliseconds % 2 == 1) { milliseconds += 1 }
        var seconds = epochSeconds
        if milliseconds == 1000 {
            milliseconds = 0
            seconds += 1
        }
        let dayCount = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - dayCount * 86400
        let date = Self.civil(days: dayCount)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        return pad(date.year, 4) + "-" + pad(date.month, 2) + "-" + pad(date.day, 2) + "T" + pad(secondOfDay / 3600, 2)
            + ":" + pad(secondOfDay / 60 % 60, 2) + ":" + pad(secondOfDay % 60, 2) + "." + pad(milliseconds, 3) + "Z"
    }
}
