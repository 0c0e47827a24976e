import SQLite
import Testing

@Suite struct SQLiteConnectionTests {
    @Test func valuesRoundTrip() throws {
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n, e TEXT)")
        let text = "Größe \u{0}nul ✓"
        let blob: [UInt8] = [0, 1, 2, 255]
        try db.run(
            "INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            [.integer(Int64.max), .real(-1.5), .text(text), .blob(blob), .null, .text("")])
        let row = try db.cachedStatement("SELECT i, r, s, b, n, e FROM t").first { row in
            (0..<row.columnCount).map { row.value(at: $0) }
        }
        #expect(row == [.integer(Int64.max), .real(-1.5), .text(text), .blob(blob), .null, .text("")])
    }

    @Test func cacheUsedBytesGrowsWithTheData() throws {
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE t (v BLOB)")
        let before = db.cacheUsedBytes
        try db.execute("BEGIN")
        for _ in 0..<200 { try db.run("INSERT INTO t VALUES (zeroblob(4000))") }
        try db.execute("COMMIT")
        #expect(db.cacheUsedBytes >= before + 200 * 4000)
    }

    /// A statement run again with fewer values than parameters sees NULL in the rest, not the values
    /// of its last run; run with all of them, it sees those.
    @Test func parametersNotBoundAgainAreNull() throws {
        let db = try SQLiteConnection(path: ":memory:")
        let sql = "SELECT ?1, ?2"
        func row(_ values: [SQLiteValue]) throws -> [SQLiteValue]? {
            try db.cachedStatement(sql).first(values) { [$0.value(at: 0), $0.value(at: 1)] }
        }
        #expect(try row([.integer(1), .text("a")]) == [.integer(1), .text("a")])
        #expect(try row([.integer(2)]) == [.integer(2), .null])
        #expect(try row([.integer(3), .text("b")]) == [.integer(3), .text("b")])
        #expect(try row([.integer(4), .text("c")]) == [.integer(4), .text("c")])
        #expect(try row([]) == [.null, .null])
    }

    @Test func emptyBlobIsNotNull() throws {
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE t (b BLOB NOT NULL)")
        try db.run("INSERT INTO t VALUES (?1)", [.blob([])])
        #expect(try db.scalar("SELECT typeof(b) FROM t") == .text("blob"))
        #expect(try db.cachedStatement("SELECT b FROM t").first { $0.blob(at: 0) } == [])
    }

    @Test func cachedStatementsAreReused() throws {
        let db = try SQLiteConnection(path: ":memory:")
        let a = try db.cachedStatement("SELECT 1")
        let b = try db.cachedStatement("SELECT 1")
        #expect(a === b)
        #expect(db.cachedStatementCount == 1)
    }

    /// The cache hashes a text by its length and a few of its bytes: texts that differ only
    /// between those bytes are still two statements, and the same text built at run time finds
    /// the statement of the literal.
    @Test func cachedStatementsAreFoundByTheWholeText() throws {
        let db = try SQLiteConnection(path: ":memory:")
        let texts = (0..<40).map {
            "SELECT 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\(String(UnicodeScalar(65 + $0)!))bbbbbbbbbbbbbbbbbbbbbbbbbbbbb'"
        }
        for text in texts {
            #expect(try db.cachedStatement(text).first { $0.string(at: 0) } == String(text.dropFirst(8).dropLast()))
        }
        #expect(db.cachedStatementCount == texts.count)
        let literal = try db.cachedStatement("SELECT 'short'")
        let built = try db.cachedStatement("SELECT '" + ["sh", "ort"].joined() + "'")
        #expect(literal === built)
        #expect(db.cachedStatementCount == texts.count + 1)
    }

    @Test func sameUTF8IsByteForByte() {
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        #expect(composed == decomposed)  // equivalent for `String`
        #expect(!composed.hasSameUTF8(as: decomposed))
        #expect(composed.hasSameUTF8(as: String(decoding: Array(composed.utf8), as: UTF8.self)))
        #expect("".hasSameUTF8(as: ""))
        #expect(!"ab".hasSameUTF8(as: "abc") && !"abd".hasSameUTF8(as: "abc"))
        let long = String(repeating: "x", count: 100)
        #expect(long.hasSameUTF8(as: String(repeating: "x", count: 100)))
    }

    @Test func statementRunsAgainAfterReset() throws {
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE t (x INTEGER)")
        for x in 1...3 { try db.run("INSERT INTO t VALUES (?1)", [.int(x)]) }
        var seen: [Int] = []
        let select = try db.cachedStatement("SELECT x FROM t WHERE x >= ?1 ORDER BY x")
        try select.query([.integer(2)]) { seen.append($0.int(at: 0)) }
        try select.query([.integer(3)]) { seen.append($0.int(at: 0)) }
        #expect(seen == [2, 3, 3])
        #expect(db.changes == 1)
        #expect(db.lastInsertRowID == 3)
    }

    @Test func constraintErrorCarriesExtendedCodeButNotArguments() throws {
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE t (k TEXT UNIQUE)")
        try db.run("INSERT INTO t VALUES (?1)", [.text("secret-value")])
        let error = #expect(throws: SQLiteError.self) {
            try db.run("INSERT INTO t VALUES (?1)", [.text("secret-value")])
        }
        #expect(error?.code == .constraintUnique)
        #expect(error.map { SQLiteResultCode.constraint ~= $0.code } == true)
        #expect(error.map { SQLiteResultCode.constraintForeignKey ~= $0.code } == false)
        #expect(error?.description.contains("secret-value") == false)
        #expect(error?.sql == "INSERT INTO t VALUES (?1)")
        // The statement is usable again after the error.
        try db.run("INSERT INTO t VALUES (?1)", [.text("other")])
    }

    @Test func prepareErrorNamesTheOperation() throws {
        let db = try SQLiteConnection(path: ":memory:")
        let error = #expect(throws: SQLiteError.self) { try db.prepare("SELEKT 1") }
        #expect(error?.operation == "prepare")
        #expect(error?.code == .error)
    }

    @Test func executeRunsScripts() throws {
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE a (x); CREATE TABLE b (y); INSERT INTO a VALUES (1);")
        #expect(try db.scalar("SELECT count(*) FROM sqlite_master") == .integer(2))
        let error = #expect(throws: SQLiteError.self) { try db.execute("INSERT INTO nowhere VALUES (1)") }
        #expect(error?.message.contains("no such table") == true)
    }

    @Test func walAndSynchronousAreSetAndChecked() throws {
        let dir = try TemporaryDirectory()
        let db = try SQLiteConnection(path: dir.file("wal.sqlite"))
        try db.enableWAL()
        #expect(try db.scalar("PRAGMA journal_mode") == .text("wal"))
        for level in [SQLiteConnection.Synchronous.normal, .off, .full] { try db.setSynchronous(level) }
        #expect(try db.scalar("PRAGMA synchronous") == .integer(2))
        // An in-memory database cannot be in WAL mode: SQLite answers "memory", and that is an error.
        let memory = try SQLiteConnection(path: ":memory:")
        #expect(throws: SQLiteError.self) { try memory.enableWAL() }
    }

    @Test func readOnlyConnectionCannotWrite() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("ro.sqlite")
        let writer = try SQLiteConnection(path: path)
        try writer.enableWAL()
        try writer.execute("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        let reader = try SQLiteConnection(path: path, mode: .readOnly)
        #expect(reader.isReadOnly)
        #expect(try reader.scalar("SELECT count(*) FROM t") == .integer(1))
        let error = #expect(throws: SQLiteError.self) { try reader.execute("INSERT INTO t VALUES (2)") }
        #expect(error.map { SQLiteResultCode.readOnly ~= $0.code } == true)
    }

    @Test func openingAMissingFileReadOnlyFails() throws {
        let dir = try TemporaryDirectory()
        let error = #expect(throws: SQLiteError.self) {
            try SQLiteConnection(path: dir.file("missing.sqlite"), mode: .readOnly)
        }
        #expect(error.map { SQLiteResultCode.cannotOpen ~= $0.code } == true)
        #expect(error?.operation == "open")
    }

    @Test func transactionsAndCheckpoint() throws {
        let dir = try TemporaryDirectory()
        let db = try SQLiteConnection(path: dir.file("tx.sqlite"))
        try db.enableWAL()
        try db.execute("CREATE TABLE t (x)")
        try db.execute("BEGIN IMMEDIATE")
        #expect(db.isInTransaction)
        try db.run("INSERT INTO t VALUES (1)")
        try db.execute("ROLLBACK")
        #expect(!db.isInTransaction)
        #expect(try db.scalar("SELECT count(*) FROM t") == .integer(0))
        let result = try db.checkpoint(.truncate)
        #expect(!result.busy)
    }
}
