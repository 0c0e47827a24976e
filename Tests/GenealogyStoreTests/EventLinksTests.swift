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
        ("export", GenealogyStore.linkedSequencesSQL),
        ("lots", GenealogyStore.lotsSQL(where: "n.kind != 'order'", limit: "100")),
        ("naive trace", GenealogyStore.eventsOfNodeSQL),
        ("hub holds", HubHoldBook.lotsByPlantSQL),
    ]

    /// One line of SQLite's plan: its id, its parent's, and what it says.
    struct PlanLine {
        var id: Int64
        var parent: Int64
        var detail: String
    }

    /// SQLite's plan for `sql`.
    static func planLines(_ sql: String, on db: SQLiteConnection) throws -> [PlanLine] {
        let statement = try db.prepare("EXPLAIN QUERY PLAN \(sql)")
        var lines: [PlanLine] = []
        try statement.query {
            lines.append(PlanLine(id: $0.int64(at: 0), parent: $0.int64(at: 1), detail: $0.string(at: 3)))
        }
        return lines
    }

    /// The lines of SQLite's plan for `sql`.
    static func plan(_ sql: String, on db: SQLiteConnection) throws -> [String] {
        try planLines(sql, on: db).map(\.detail)
    }

    /// The lines that share a parent with a line starting with `prefix`.
    static func siblings(of prefix: String, in plan: [PlanLine]) -> [String] {
        let parents = Set(plan.filter { $0.detail.hasPrefix(prefix) }.map(\.parent))
        return plan.filter { parents.contains($0.parent) && !$0.detail.hasPrefix(prefix) }.map(\.detail)
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

extension EventLinksTests {
    /// A page of a long history sorts nothing but the sequences of the node's direct edges: the
    /// links in `event_nodes` come in their key's order, merged with the sorted edges, and each
    /// event is read by its key. Sorting the events themselves (raw bytes and all) made the first
    /// page of a 1,129-event lot take 11 ms instead of 1.
    @Test func aHistoryPageSortsOnlyTheDirectEdges() throws {
        let fixture = StoreFixture()
        try fixture.open().close()
        let db = try fixture.rawConnection()
        let plan = try Self.planLines(GenealogyStore.historySQL, on: db)
        let sorts = plan.filter { $0.detail.hasPrefix("USE TEMP B-TREE") }
        #expect(plan.contains { $0.detail.hasPrefix("MERGE") }, "\(plan.map(\.detail))")
        for sort in sorts {
            let beside = plan.filter { $0.parent == sort.parent }.map(\.detail)
            #expect(beside.contains { $0.hasPrefix("SEARCH edges") }, "a sort of more than the edges: \(beside)")
        }
        let event = try Self.plan(GenealogyStore.historyEventSQL, on: db)
        #expect(event.contains { $0.hasPrefix("SEARCH e USING INTEGER PRIMARY KEY") }, "\(event)")
        #expect(!event.contains { $0.contains("TEMP B-TREE") || $0.hasPrefix("SCAN") }, "\(event)")
    }

    /// `mesgate lots` counts the events of the rows it returns only, after the sort and the limit,
    /// not of every node it sorts (2.2 s instead of 0.3 on a store of 414,524 nodes).
    @Test func theLotListCountsOnlyTheRowsItReturns() throws {
        let fixture = StoreFixture()
        try fixture.open().close()
        let plan = try Self.planLines(
            GenealogyStore.lotsSQL(where: "n.kind != 'order'", limit: "100"), on: fixture.rawConnection())
        let beside = Self.siblings(of: "CORRELATED SCALAR SUBQUERY", in: plan)
        #expect(!beside.isEmpty, "\(plan.map(\.detail))")
        #expect(!beside.contains { $0.hasPrefix("SCAN n") || $0.hasPrefix("SEARCH n") }, "counts every node: \(beside)")
    }
}
