import Foundation

/// Odoo's `Datetime` field as its JSON-RPC reads and writes it: UTC, `2026-11-27 06:00:00`
/// (`odoo.tools.DEFAULT_SERVER_DATETIME_FORMAT`), to and from Unix milliseconds.
public enum OdooDateTime {
    /// The text of `ms` (whole seconds).
    public static func text(_ ms: Int64) -> String {
        formatter().string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    /// The milliseconds of `text`; 0 when it is absent or not such a datetime (Odoo sends `false`).
    public static func ms(_ text: String?) -> Int64 {
        guard let text, let date = formatter().date(from: text) else { return 0 }
        return Int64(date.timeIntervalSince1970 * 1000)
    }

    /// A new one each time: `DateFormatter` is not `Sendable`, and the poster formats a few dates a
    /// second at most.
    private static func formatter() -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter
    }
}
