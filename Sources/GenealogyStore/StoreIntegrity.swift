import Foundation
import SQLite

/// What an integrity check of the store file found.
public struct IntegrityReport: Sendable, Hashable {
    /// `quick`: `PRAGMA quick_check` (every page's structure; not index contents against their
    /// tables). `full`: `PRAGMA integrity_check` (also every index against its table, UNIQUE).
    public enum Depth: String, Sendable {
        case quick = "quick_check"
        case full = "integrity_check"
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
        let pragma = "PRAGMA \(depth.rawValue)(\(max(1, maxLines)))"
        var report = IntegrityReport(depth: depth, problems: [], finished: true, seconds: 0)
        do throws(SQLiteError) {
            let lines: [String]
            if let timeLimit {
                lines = try db.withTimeLimit(timeLimit) { () throws(SQLiteError) in try rows(pragma, db) }
            } else {
                lines = try rows(pragma, db)
            }
            report.problems = lines == ["ok"] ? [] : lines
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
