import SQLite
import Testing

@testable import GenealogyStore

/// Every query that reads an event's links (`EventLinks`) reaches `event_nodes` and `edges` through
/// their indexes, never by reading the table: on a store of millions of events a scan turns a
/// history or an export of milliseconds into seconds (a view of the union, joined to a list of
/// nodes, was read whole: the 11,710-lot export read for 1.9 s instead of 0.3).
@Suite struct EventLinksTests {
    static let readers: [(String, String)] = [
        ("history", GenealogyStore.historySQL),
        ("history, more", GenealogyStore.moreHistorySQL),
        ("export", GenealogyStore.linkedSequencesSQL),
        ("lots", "SELECT n.id, \(GenealogyStore.eventCountSQL) FROM nodes n WHERE n.kind = 'lot'"),
        ("naive trace", GenealogyStore.eventsOfNodeSQL),
        ("hub holds", HubHoldBook.lotsByPlantSQL),
    ]

    /// The lines of SQLite's plan for `sql`.
    static func plan(_ sql: String, on db: SQLiteConnection) throws -> [String] {
        let statement = try db.prepare("EXPLAIN QUERY PLAN \(sql)")
        var lines: [String] = []
        try statement.query { lines.append($0.string(at: 3)) }
        return lines
    }

    @Test(arguments: readers)
    func readsTheLinksThroughTheirIndexes(_ reader: (String, String)) throws {
        let fixture = StoreFixture()
        try fixture.open().close()
        let plan = try Self.plan(reader.1, on: fixture.rawConnection())
        #expect(plan.contains { $0.hasPrefix("SEARCH event_nodes") }, "\(reader.0): \(plan)")
        #expect(plan.contains { $0.hasPrefix("SEARCH edges") }, "\(reader.0): \(plan)")
        let scans = plan.filter { line in
            ["SCAN event_nodes", "SCAN edges", "SEARCH event_nodes USING AUTOMATIC", "SEARCH edges USING AUTOMATIC"]
                .contains { line.hasPrefix($0) }
        }
        #expect(scans.isEmpty, "\(reader.0) reads a whole table: \(plan)")
    }
}
