import Foundation
import Testing

@testable import LotExport

/// `MachineTime` against Foundation's formatters in zones with summer time, half-hour and
/// quarter-hour offsets, on both sides of each change and across a year's end.
@Suite struct MachineTimeTests {
    static let zones = [
        "UTC", "Europe/Berlin", "America/Los_Angeles", "America/St_Johns", "Asia/Kathmandu",
        "Australia/Lord_Howe", "Pacific/Chatham",
    ]
    /// Unix milliseconds: around the 2026 changes in Europe and the USA, a year's end, a leap day,
    /// before 1970, and with milliseconds that must not round.
    static let instants: [Int64] = [
        1_774_746_000_000 - 1, 1_774_746_000_000, 1_792_890_000_000 - 1, 1_792_890_000_000,
        1_772_964_000_000 - 1, 1_772_964_000_000, 1_793_523_600_000 - 1, 1_793_523_600_000, 1_798_761_599_999,
        1_709_164_800_123, -86_400_001, 0,
        1_764_806_305_999,
    ]

    @Test(arguments: zones) func textIsWhatADateFormatterPrints(_ name: String) throws {
        let zone = try #require(TimeZone(identifier: name))
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = zone
        format.dateFormat = "yyyy-MM-dd HH:mm:ss xxx"
        for ms in Self.instants {
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            #expect(MachineTime.text(ms, in: zone) == format.string(from: date), "\(name) \(ms)")
        }
    }

    @Test(arguments: zones) func isoIsRFC3339WithMillisecondsAndReadsBack(_ name: String) throws {
        let zone = try #require(TimeZone(identifier: name))
        let format = ISO8601DateFormatter()
        format.timeZone = zone
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for ms in Self.instants {
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            let text = MachineTime.iso(ms, in: zone)
            #expect(text == format.string(from: date), "\(name) \(ms)")
            #expect(MachineTime.parse(text, in: zone) == ms, "\(text)")
        }
    }

    @Test func localTextIsReadInTheZoneGiven() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        // 2026-07-01 08:00 in Berlin is 06:00 UTC (summer time); in January, 07:00 UTC.
        #expect(MachineTime.parse("2026-07-01 08:00", in: berlin) == 1_782_885_600_000)
        #expect(MachineTime.parse("2026-01-05T08:00", in: berlin) == 1_767_596_400_000)
        #expect(MachineTime.parse("2026-01-05", in: berlin) == 1_767_567_600_000)
        #expect(MachineTime.parse("yesterday", in: berlin) == nil)
        #expect(MachineTime.parse("2026-13-40", in: berlin) == nil)
    }
}
