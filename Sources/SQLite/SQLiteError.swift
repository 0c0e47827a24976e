internal import CSQLite

/// An SQLite result code, extended where SQLite reports one (see https://www.sqlite.org/rescode.html).
///
/// A primary code matches itself and all its extended codes with `~=`; an extended code matches only
/// itself, so `case .constraint:` catches every constraint violation and `.constraintUnique` only one.
public struct SQLiteResultCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The primary code: the least significant 8 bits.
    public var primary: SQLiteResultCode { SQLiteResultCode(rawValue: rawValue & 0xFF) }

    public static func ~= (pattern: SQLiteResultCode, code: SQLiteResultCode) -> Bool {
        pattern == pattern.primary ? pattern == code.primary : pattern == code
    }

    /// The number and SQLite's English name for the code (`sqlite3_errstr`).
    public var description: String { "\(rawValue) (\(String(cString: sqlite3_errstr(rawValue))))" }

    public static let ok = SQLiteResultCode(rawValue: SQLITE_OK)
    public static let error = SQLiteResultCode(rawValue: SQLITE_ERROR)
    public static let permission = SQLiteResultCode(rawValue: SQLITE_PERM)
    public static let busy = SQLiteResultCode(rawValue: SQLITE_BUSY)
    public static let locked = SQLiteResultCode(rawValue: SQLITE_LOCKED)
    public static let noMemory = SQLiteResultCode(rawValue: SQLITE_NOMEM)
    public static let readOnly = SQLiteResultCode(rawValue: SQLITE_READONLY)
    public static let ioError = SQLiteResultCode(rawValue: SQLITE_IOERR)
    public static let corrupt = SQLiteResultCode(rawValue: SQLITE_CORRUPT)
    public static let full = SQLiteResultCode(rawValue: SQLITE_FULL)
    public static let cannotOpen = SQLiteResultCode(rawValue: SQLITE_CANTOPEN)
    public static let constraint = SQLiteResultCode(rawValue: SQLITE_CONSTRAINT)
    public static let misuse = SQLiteResultCode(rawValue: SQLITE_MISUSE)
    public static let range = SQLiteResultCode(rawValue: SQLITE_RANGE)
    public static let notADatabase = SQLiteResultCode(rawValue: SQLITE_NOTADB)
    public static let interrupt = SQLiteResultCode(rawValue: SQLITE_INTERRUPT)
    /// SQLITE_CONSTRAINT_UNIQUE (2067).
    public static let constraintUnique = SQLiteResultCode(rawValue: 2067)
    /// SQLITE_CONSTRAINT_PRIMARYKEY (1555).
    public static let constraintPrimaryKey = SQLiteResultCode(rawValue: 1555)
    /// SQLITE_CONSTRAINT_FOREIGNKEY (787).
    public static let constraintForeignKey = SQLiteResultCode(rawValue: 787)
}

/// A failed SQLite call: the extended result code, SQLite's message, and what was being done.
///
/// Never carries SQL arguments (bound values); `sql` is the statement text with its placeholders.
public struct SQLiteError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: SQLiteResultCode
    /// `sqlite3_errmsg` at the time of the failure (SQLite does not put bound values in it).
    public var message: String
    /// The operation that failed: "open", "prepare", "step", "bind", "execute", …
    public var operation: String
    /// The SQL text (placeholders only), when the failure is tied to one statement.
    public var sql: String?

    public init(code: SQLiteResultCode, message: String, operation: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.operation = operation
        self.sql = sql
    }

    public var description: String {
        let base = "SQLite \(operation) failed: \(message) [code \(code.rawValue)]"
        guard let sql else { return base }
        return base + " in `\(sql.prefix(200))`"
    }

    /// The error SQLite reports on `db` for a failed call that returned `code`.
    static func last(_ db: OpaquePointer?, code: Int32, operation: String, sql: String? = nil) -> SQLiteError {
        let extended = db.map { sqlite3_extended_errcode($0) } ?? code
        // sqlite3_errmsg is owned by SQLite and valid until the next call on `db`: copy it now.
        let message =
            db.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
        // An extended code is only meaningful if its primary matches what the call returned.
        let resolved = (extended & 0xFF) == (code & 0xFF) ? extended : code
        return SQLiteError(code: SQLiteResultCode(rawValue: resolved), message: message, operation: operation, sql: sql)
    }
}
