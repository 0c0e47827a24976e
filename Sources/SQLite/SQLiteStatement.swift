internal import CSQLite

/// One prepared statement (`sqlite3_stmt`), finalized in `deinit`.
///
/// Confined like its connection: use it only on the thread that currently owns the connection that
/// prepared it. Bind indexes and column indexes follow SQLite: binds start at 1, columns at 0.
public final class SQLiteStatement {
    /// Owned: finalized in `deinit`.
    private let handle: OpaquePointer
    /// The SQL text, placeholders only; used in errors.
    public let sql: String

    init(handle: OpaquePointer, sql: String) {
        self.handle = handle
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    private var db: OpaquePointer? { sqlite3_db_handle(handle) }

    private func check(_ code: Int32, _ operation: String) throws(SQLiteError) {
        if code != SQLITE_OK { throw SQLiteError.last(db, code: code, operation: operation, sql: sql) }
    }

    // MARK: Binding

    /// Virtual-machine steps this statement has run since it was prepared
    /// (`SQLITE_STMTSTATUS_VM_STEP`): a measure of the work it did, which grows with the rows it reads.
    public var virtualMachineSteps: Int { Int(sqlite3_stmt_status(handle, SQLITE_STMTSTATUS_VM_STEP, 0)) }

    /// Rows stepped through in full-table scans since the statement was prepared
    /// (`SQLITE_STMTSTATUS_FULLSCAN_STEP`): nonzero when a query found no index to use.
    public var fullScanSteps: Int { Int(sqlite3_stmt_status(handle, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0)) }

    /// The number of `?` parameters.
    public var parameterCount: Int { Int(sqlite3_bind_parameter_count(handle)) }

    /// Binds one value at `index` (1-based). Strings and blobs are copied (SQLITE_TRANSIENT).
    public func bind(_ value: SQLiteValue, at index: Int) throws(SQLiteError) {
        let i = Int32(index)
        let code: Int32
        switch value {
        case .integer(let v): code = sqlite3_bind_int64(handle, i, v)
        case .real(let v): code = sqlite3_bind_double(handle, i, v)
        case .text(let v):
            // With its byte length, so text with embedded NULs is kept whole.
            var text = v
            code = text.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) { chars in
                    // An empty buffer may have no base address, and a NULL pointer would bind NULL.
                    guard let base = chars.baseAddress else {
                        return sqlite3_bind_text(handle, i, "", 0, CSQLite_SQLITE_TRANSIENT())
                    }
                    return sqlite3_bind_text(handle, i, base, Int32(chars.count), CSQLite_SQLITE_TRANSIENT())
                }
            }
        case .blob(let v):
            // An empty array has no base address, and a NULL pointer would bind NULL: bind a zero blob.
            if v.isEmpty {
                code = sqlite3_bind_zeroblob(handle, i, 0)
            } else {
                code = v.withUnsafeBytes {
                    sqlite3_bind_blob(handle, i, $0.baseAddress, Int32($0.count), CSQLite_SQLITE_TRANSIENT())
                }
            }
        case .null: code = sqlite3_bind_null(handle, i)
        }
        try check(code, "bind")
    }

    /// Binds `values` at 1, 2, …; the parameters after them, if any, are cleared to NULL. (When
    /// `values` covers every parameter there is nothing left to clear: the writer binds a few
    /// statements per event, and clearing them first was about 2 % of its time.)
    public func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        if values.count < sqlite3_bind_parameter_count(handle) { sqlite3_clear_bindings(handle) }
        for (offset, value) in values.enumerated() { try bind(value, at: offset + 1) }
    }

    // MARK: Stepping

    /// Advances: true when a row is available, false when the statement is done.
    public func step() throws(SQLiteError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code:
            // The statement's error is sticky until reset: reset now so the statement can be reused.
            let error = SQLiteError.last(db, code: code, operation: "step", sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Makes the statement ready to run again; bindings are kept.
    public func reset() {
        // The return code repeats the last step's error, which `step` already reported.
        sqlite3_reset(handle)
    }

    /// Resets, binds `values`, steps until done, resets. For INSERT/UPDATE/DELETE.
    public func run(_ values: [SQLiteValue] = []) throws(SQLiteError) {
        reset()
        try bind(values)
        defer { reset() }
        while try step() {}
    }

    /// Resets, binds `values`, and calls `row` for every row; resets when done.
    public func query(_ values: [SQLiteValue] = [], row: (SQLiteStatement) throws(SQLiteError) -> Void)
        throws(SQLiteError)
    {
        reset()
        try bind(values)
        defer { reset() }
        while try step() { try row(self) }
    }

    /// `query` with one integer parameter (a row id): binds it without building an array of values,
    /// for loops that run a statement once per row id (a trace runs two per node it reaches).
    public func query(_ id: Int64, row: (SQLiteStatement) throws(SQLiteError) -> Void) throws(SQLiteError) {
        reset()
        try bind(.integer(id), at: 1)
        defer { reset() }
        while try step() { try row(self) }
    }

    /// `first` with one integer parameter (a row id), without building an array of values.
    public func first<T>(_ id: Int64, _ map: (SQLiteStatement) throws(SQLiteError) -> T) throws(SQLiteError) -> T? {
        reset()
        try bind(.integer(id), at: 1)
        defer { reset() }
        return try step() ? map(self) : nil
    }

    /// Resets, binds `values`, and returns the first row mapped by `map`, or nil; resets when done.
    public func first<T>(_ values: [SQLiteValue] = [], _ map: (SQLiteStatement) throws(SQLiteError) -> T)
        throws(SQLiteError) -> T?
    {
        reset()
        try bind(values)
        defer { reset() }
        return try step() ? map(self) : nil
    }

    // MARK: Columns of the current row

    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    public func columnName(at index: Int) -> String {
        sqlite3_column_name(handle, Int32(index)).map { String(cString: $0) } ?? ""
    }

    public func isNull(at index: Int) -> Bool { sqlite3_column_type(handle, Int32(index)) == SQLITE_NULL }

    public func int64(at index: Int) -> Int64 { sqlite3_column_int64(handle, Int32(index)) }

    public func int(at index: Int) -> Int { Int(sqlite3_column_int64(handle, Int32(index))) }

    public func double(at index: Int) -> Double { sqlite3_column_double(handle, Int32(index)) }

    /// The column as UTF-8 text ("" for NULL); embedded NULs are kept.
    public func string(at index: Int) -> String {
        // Pointer first, then length, as SQLite documents; the bytes live until the next step/reset.
        guard let text = sqlite3_column_text(handle, Int32(index)) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, Int32(index)))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// The column as text, or nil for NULL.
    public func optionalString(at index: Int) -> String? { isNull(at: index) ? nil : string(at: index) }

    /// The column as bytes ([] for NULL or an empty blob).
    public func blob(at index: Int) -> [UInt8] {
        guard let bytes = sqlite3_column_blob(handle, Int32(index)) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, Int32(index)))
        return [UInt8](UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// The column in its storage class.
    public func value(at index: Int) -> SQLiteValue {
        switch sqlite3_column_type(handle, Int32(index)) {
        case SQLITE_INTEGER: .integer(int64(at: index))
        case SQLITE_FLOAT: .real(double(at: index))
        case SQLITE_TEXT: .text(string(at: index))
        case SQLITE_BLOB: .blob(blob(at: index))
        default: .null
        }
    }
}

/// Statements are confined to their connection's thread.
@available(*, unavailable)
extension SQLiteStatement: Sendable {}
