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
    /// The instants of each zone's two changes of 2026.
    static let changes: [(zone: String, at: [Int64])] = [
        ("Europe/Berlin", [1_774_746_000_000, 1_792_890_000_000]),
        ("America/Los_Angeles", [1_772_964_000_000, 1_793_523_600_000]),
        ("America/St_Johns", [1_772_947_800_000, 1_793_507_400_000]),
        ("Australia/Lord_Howe", [1_775_314_800_000, 1_791_041_400_000]),
        ("Pacific/Chatham", [1_775_311_200_000, 1_790_431_200_000]),
    ]
    /// Unix milliseconds: a millisecond before and at each of those changes, then a year's end, a
    /// leap day with milliseconds that must not round, before 1970 and 1970 itself.
    static let instants: [Int64] =
        changes.flatMap { $0.at.flatMap { [$0 - 1, $0] } }
        + [1_798_761_599_999, 1_709_164_800_123, 1_764_806_305_999, -86_400_001, 0]

    /// Every zone's offset changes at each of its instants, so both sides are tested.
    @Test func theInstantsCrossEachZonesChanges() throws {
        for (name, changes) in Self.changes {
            let zone = try #require(TimeZone(identifier: name))
            for at in changes {
                #expect(
                    LocalTime.of(zone, at: at - 1).offsetMinutes != LocalTime.of(zone, at: at).offsetMinutes,
                    "\(name) \(at)")
            }
        }
    }

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
