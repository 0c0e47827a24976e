import Foundation
import SQLite

/// What an integrity check of the store file found.
public struct IntegrityReport: Sendable, Hashable {
    /// How much SQLite checks.
    public enum Depth: Sendable, Hashable {
        /// `PRAGMA quick_check`: every page's structure, not index contents against their tables.
        case quick
        /// `PRAGMA integrity_check`: also every index against its table, and UNIQUE; then the
        /// uniqueness the writer keeps without an index (one order → output edge per pair,
        /// migration 17).
        case full
        /// `quick_check`, then `integrity_check(events)`: the events table against its indexes
        /// too, at a cost proportional to that table. What `serve` runs before opening the store:
        /// a key damaged inside the `event_id` index passes quick_check, yet makes re-sent events
        /// look new (exactly-once breaks).
        case quickAndEvents

        /// The check as SQLite names it, for messages.
        public var name: String {
            switch self {
            case .quick: "quick_check"
            case .full: "integrity_check"
            case .quickAndEvents: "quick_check + integrity_check(events)"
            }
        }

        /// The statements, run in order until one reports a problem.
        func statements(maxLines: Int) -> [String] {
            switch self {
            case .quick: ["PRAGMA quick_check(\(maxLines))"]
            case .full:
                ["PRAGMA integrity_check(\(maxLines))", IntegrityReport.orderOutputPairsTwice(maxLines: maxLines)]
            case .quickAndEvents: ["PRAGMA quick_check(\(maxLines))", "PRAGMA integrity_check(events)"]
            }
        }
    }

    /// A line for each order → output pair stored more than once.
    static func orderOutputPairsTwice(maxLines: Int) -> String {
        """
        SELECT 'order → output edge of nodes ' || from_node || ' → ' || to_node || ' stored ' || count(*) || ' times'
        FROM edges WHERE kind = 'order_output' GROUP BY from_node, to_node HAVING count(*) > 1 LIMIT \(maxLines)
        """
    }

    public var depth: Depth
    /// What SQLite reported, one line each, at most the check's `maxLines`; empty when intact.
    public var problems: [String]
    /// False when the time limit stopped the check before it had read the whole file.
    public var finished: Bool
    public var seconds: Double

    public init(depth: Depth, problems: [String], finished: Bool, seconds: Double) {
        self.depth = depth
        self.problems = problems
        self.finished = finished
        self.seconds = seconds
    }

    /// Nothing found (in the part read, when not `finished`).
    public var intact: Bool { problems.isEmpty }

    /// One line for logs and errors: the first problems found.
    public func summary(lines: Int = 5) -> String {
        let shown = problems.prefix(lines).joined(separator: "; ")
        return problems.count > lines ? "\(shown); … (\(problems.count) lines)" : shown
    }

    /// What to do about a damaged store, for the people who read the message.
    public static func restoreAdvice(directory: String) -> String {
        "restore it from a backup: mesgate restore --from BACKUP --data \(directory)"
    }
}

/// Runs SQLite's own checks on a store file, on a read-only connection of its own (safe while
/// the gateway runs: it reads one snapshot). Runs SQLite on the calling thread: keep it off event
/// loops and the cooperative pool.
public enum StoreIntegrity {
    /// Checks the store at `path` (its `genealogy.sqlite`). `maxLines` bounds what SQLite lists;
    /// `timeLimit` stops a check that takes longer (the report then says `finished: false`).
    /// Throws only when the file cannot be opened; damage SQLite stumbles over while reading
    /// (`SQLITE_CORRUPT`, `SQLITE_NOTADB`) is reported as a problem.
    public static func check(
        path: String, depth: IntegrityReport.Depth, maxLines: Int = 20, timeLimit: Duration? = nil
    ) throws(GenealogyStoreError) -> IntegrityReport {
        let db: SQLiteConnection
        do throws(SQLiteError) {
            db = try SQLiteConnection(path: path, mode: .readOnly)
            try db.execute("PRAGMA query_only = 1")
        } catch {
            throw GenealogyStoreError(.openFailed, "cannot open \(path) read-only", underlying: error)
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let statements = depth.statements(maxLines: max(1, maxLines))
        var report = IntegrityReport(depth: depth, problems: [], finished: true, seconds: 0)
        let run = { () throws(SQLiteError) -> [String] in
            for sql in statements {
                let lines = try rows(sql, db).filter { $0 != "ok" }
                if !lines.isEmpty { return Array(lines.prefix(max(1, maxLines))) }
            }
            return []
        }
        do throws(SQLiteError) {
            if let timeLimit {
                report.problems = try db.withTimeLimit(timeLimit, run)
            } else {
                report.problems = try run()
            }
        } catch  where error.code ~= .interrupt {
            report.finished = false
        } catch {
            report.problems = ["SQLite stopped reading the file: \(error.message) [code \(error.code.rawValue)]"]
        }
        report.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return report
    }

    /// The check's rows, split into lines, without SQLite's "*** in database main ***" headings.
    static func rows(_ sql: String, _ db: SQLiteConnection) throws(SQLiteError) -> [String] {
        var lines: [String] = []
        try db.prepare(sql).query { row in
            for line in row.string(at: 0).split(separator: "\n") where !line.hasPrefix("*** in database") {
                lines.append(String(line))
            }
        }
        return lines
    }
}
