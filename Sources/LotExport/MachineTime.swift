import Foundation

/// Times as people read them in the command line's output: the local date and time of a zone (the
/// machine's unless told) with its offset. Formatted by `LocalTime`, not a `DateFormatter` per line.
public enum MachineTime {
    /// `2026-12-04 03:58:25 +01:00`.
    public static func text(_ ms: Int64, in zone: TimeZone = .current) -> String {
        LocalTime.of(zone, at: ms).readable(ms)
    }

    /// `2026-12-04T03:58:25.123+01:00`; `…Z` where the offset is zero (RFC 3339).
    public static func iso(_ ms: Int64, in zone: TimeZone = .current) -> String {
        let local = LocalTime.of(zone, at: ms)
        let text = local.iso(ms)
        return local.offsetMinutes == 0 ? text.dropLast(6) + "Z" : text
    }

    /// Reads `2026-12-04`, `2026-12-04T08:00`, `2026-12-04 08:00:00` (local time in `zone`) or a full
    /// ISO 8601 date-time with its offset; Unix milliseconds, nil when it is none of these.
    public static func parse(_ text: String, in zone: TimeZone = .current) -> Int64? {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime]
        if let date = iso.date(from: text) { return milliseconds(date) }
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = iso.date(from: text) { return milliseconds(date) }
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = zone
        for pattern in [
            "yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm:ss",
        ] {
            format.dateFormat = pattern
            if let date = format.date(from: text) { return milliseconds(date) }
        }
        return nil
    }

    /// Rounded, not cut: a `Date`'s seconds are a `Double`, and `.123` is 0.12299… of one.
    private static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}
