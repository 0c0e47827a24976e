import MESDomain
import SQLite

/// What /metrics and the status page count in the store, read in a constant number of steps
/// whatever its size: from `status_counts` (kept by triggers, see migration 8) and one index probe.
public struct StatusCounts: Sendable, Hashable {
    /// Outbox rows by state; states that never had a row are absent.
    public var outbox: [String: Int] = [:]
    /// Exceptions ever raised, by kind.
    public var exceptions: [String: Int] = [:]
    /// Exceptions open now (raised, nobody acknowledged them yet), by kind; kinds with none are absent.
    public var openExceptions: [String: Int] = [:]
    /// Exceptions acknowledged and not closed yet, by kind; kinds with none are absent.
    public var acknowledgedExceptions: [String: Int] = [:]
    /// Lots, serials and containers held now.
    public var held = 0
    /// Administrators' outbox commands (retry, replay, skip), by action.
    public var outboxCommands: [String: Int] = [:]
    /// The creation time of the oldest outbox row not posted yet (pending or failed), if any.
    public var oldestWaitingOutboxMs: Int64?

    public init() {}

    static let countsSQL = "SELECT name, key, n FROM status_counts"
    static let exceptionStatesSQL = "SELECT kind, state, n FROM exception_counts WHERE state != 'closed' AND n > 0"
    static let oldestWaitingSQL = """
        SELECT created_at_ms FROM outbox INDEXED BY outbox_waiting_since
        WHERE state IN ('pending', 'failed') ORDER BY created_at_ms LIMIT 1
        """

    /// Reads the counts on `db`; also returns the SQLite virtual-machine steps it took (what a
    /// test holds constant as the tables grow).
    static func read(_ db: SQLiteConnection) throws(SQLiteError) -> (counts: StatusCounts, steps: Int) {
        var counts = StatusCounts()
        let rows = try db.prepare(countsSQL)
        try rows.query { row in
            let key = row.string(at: 1)
            let n = row.int(at: 2)
            switch row.string(at: 0) {
            case "outbox": counts.outbox[key] = n
            case "exceptions": counts.exceptions[key] = n
            case "held": counts.held = n
            case "outbox_commands": counts.outboxCommands[key] = n
            default: break  // the table's CHECK allows no other name
            }
        }
        let oldest = try db.prepare(oldestWaitingSQL)
        counts.oldestWaitingOutboxMs = try oldest.first { $0.int64(at: 0) }
        // Kinds × two states: a handful of rows whatever the store's size (migration 14).
        let states = try db.prepare(exceptionStatesSQL)
        try states.query { row in
            switch ExceptionState(rawValue: row.string(at: 1)) {
            case .open: counts.openExceptions[row.string(at: 0)] = row.int(at: 2)
            case .acknowledged: counts.acknowledgedExceptions[row.string(at: 0)] = row.int(at: 2)
            case .closed, nil: break  // not selected
            }
        }
        return (counts, rows.virtualMachineSteps + oldest.virtualMachineSteps + states.virtualMachineSteps)
    }
}

extension GenealogyStore {
    /// The counts for /metrics and the status page; constant cost (see `StatusCounts`).
    public func statusCounts() throws -> StatusCounts {
        try read { db in
            do throws(SQLiteError) {
                return try db.readTransaction { () throws(SQLiteError) in try StatusCounts.read(db).counts }
            } catch {
                throw GenealogyStoreError(.queryFailed, "a store query failed", underlying: error)
            }
        }
    }
}
