import Dispatch
import Foundation
import GenealogySchema
import GenealogyStore
import Logging
import MESDomain
import SQLite
import Synchronization
import Testing

/// A fresh store directory per test, removed when the fixture goes away.
final class StoreFixture {
    let directory: String
    var path: String { (directory as NSString).appendingPathComponent(GenealogyStore.fileName) }
    static let logger = Logger(label: "mesgate.store.tests") { _ in SwiftLogNoOpLogHandler() }

    init() {
        directory = (NSTemporaryDirectory() as NSString).appendingPathComponent("mesgate-store-\(UUID().uuidString)")
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func open(_ configure: (inout StoreOptions) -> Void = { _ in }) throws -> GenealogyStore {
        var options = StoreOptions()
        options.synchronous = .normal  // tests do not need power-loss durability; the throughput test sets its own
        configure(&options)
        return try GenealogyStore.open(directory: directory, options: options, logger: Self.logger)
    }

    /// Fails the test unless `mesgate audit verify` would find the trail intact: for tests where
    /// something was refused or failed and rolled back.
    func expectAuditIntact(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try AuditTrail(path: path).verify()
        #expect(result.problem == nil, "\(result.problem?.message ?? "")", sourceLocation: sourceLocation)
    }

    /// A write connection of the test's own, for setting up odd files; closed when it goes away.
    func rawConnection() throws -> SQLiteConnection {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try SQLiteConnection(path: path)
    }

    /// A write connection of the test's own on a store that migrations 1...`version` alone made,
    /// recorded in `schema_migrations` and `user_version` as the mesgate of that version left it.
    /// With `foreignKeys`, the migrations run with foreign keys on, as the store's writer runs them.
    func rawConnection(migratedTo version: Int, foreignKeys: Bool = false) throws -> SQLiteConnection {
        let db = try rawConnection()
        if foreignKeys { try db.execute("PRAGMA foreign_keys = ON") }
        for migration in Migrations.all where migration.version <= version {
            try db.execute(migration.sql)
            try db.run(
                "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?1, ?2, 0)",
                [.int(migration.version), .text(migration.name)])
        }
        try db.execute("PRAGMA user_version = \(version)")
        return db
    }
}

/// Builds requests with a fixed time and client.
func request(_ id: String, workOrder: String = "", workCenter: String = "WC1", _ body: EventBody) -> IngestRequest {
    let event = Event(
        eventID: id, occurredAtMs: 1_750_000_000_000, tzOffset: "+02:00", plant: "P1", workCenter: workCenter,
        operatorID: "op7", workOrder: workOrder, body: body)
    return IngestRequest(event: event, raw: Array(id.utf8), client: "test-client")
}

func lot(_ product: String, _ lot: String) -> LotRef { LotRef(product: product, lot: lot) }
func qty(_ value: Double, _ uom: String = "kg") -> Quantity { Quantity(value: value, uom: uom) }

extension GenealogyStore {
    /// Submits every request (in order, from this task) and waits for all their outcomes.
    func ingest(_ requests: [IngestRequest]) async -> [IngestOutcome] {
        await ingest(requests, afterSubmitting: {})
    }

    /// Holds the writer thread in a completion while `requests` are submitted, so that they are
    /// all committed in one batch. The holding event, `hold-<uuid>`, is stored first. Only with
    /// `synchronous` normal or off (the fixture's default): with full, completions run on
    /// `CommitSyncer`'s thread, and holding one holds the writer only once a batch more is untold.
    func ingestInOneBatch(_ requests: [IngestRequest]) async -> [IngestOutcome] {
        let writerHeld = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let hold = request("hold-\(UUID().uuidString)", .operation(.init(operation: "hold", state: .started)))
        _ = submit(hold) { _ in
            writerHeld.signal()
            release.wait()
        }
        writerHeld.wait()
        return await ingest(requests, afterSubmitting: { release.signal() })
    }

    private func ingest(_ requests: [IngestRequest], afterSubmitting: () -> Void) async -> [IngestOutcome] {
        let outcomes = Mutex<[IngestOutcome?]>(Array(repeating: nil, count: requests.count))
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            guard !requests.isEmpty else { return continuation.resume() }
            let remaining = Atomic<Int>(requests.count)
            let record = { @Sendable (i: Int, outcome: IngestOutcome) in
                outcomes.withLock { $0[i] = outcome }
                if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { continuation.resume() }
            }
            for (i, request) in requests.enumerated() {
                let result = submit(request) { record(i, $0) }
                if result != .queued { record(i, .failed(GenealogyStoreError(.closed, "submit: \(result)"))) }
            }
            afterSubmitting()
        }
        return outcomes.withLock { $0.map { $0! } }
    }

    func ingest(_ request: IngestRequest) async -> IngestOutcome { await ingest([request])[0] }

    /// Every row of `sql` as values.
    func rows(_ sql: String, _ values: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        try read { db in
            var rows: [[SQLiteValue]] = []
            try db.prepare(sql).query(values) { row in
                rows.append((0..<row.columnCount).map { row.value(at: $0) })
            }
            return rows
        }
    }

    func count(_ sql: String, _ values: [SQLiteValue] = []) throws -> Int {
        guard case .integer(let n) = try rows(sql, values).first?.first else { return -1 }
        return Int(n)
    }
}

extension IngestOutcome {
    var sequence: Int64? {
        switch self {
        case .accepted(let s), .duplicate(let s): s
        case .failed: nil
        }
    }
}
