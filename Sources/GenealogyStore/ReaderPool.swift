import SQLite
import Synchronization

/// A read-only connection on its way between the pool and one caller.
///
/// `@unchecked Sendable` because the pool hands it to one caller at a time: it is used only by the
/// thread that took it out, until that thread gives it back (or drops it, which closes it).
final class PooledReader: @unchecked Sendable {
    let connection: SQLiteConnection

    init(_ connection: SQLiteConnection) { self.connection = connection }
}

/// Read-only connections for queries, opened on demand, at most `limit` in use at once, and up to
/// `idle` kept open when they come back.
///
/// Never blocks: when `limit` readers are in use, a caller is refused with `.busy` at once (the
/// gRPC edge answers UNAVAILABLE, retry) rather than opening connections, or queueing, without
/// bound. Connections run on the caller's thread.
final class ReaderPool: Sendable {
    private struct State {
        var idle: [PooledReader] = []
        var inUse = 0
        var closed = false
    }

    private let path: String
    private let idleCapacity: Int
    private let limit: Int
    private let state = Mutex(State())

    init(path: String, idle: Int, limit: Int) {
        self.path = path
        self.idleCapacity = max(0, idle)
        self.limit = max(1, limit)
    }

    /// Runs `body` with a read-only connection on the calling thread.
    func withReader<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        let taken = state.withLock { state -> Result<PooledReader?, GenealogyStoreError> in
            if state.closed { return .failure(GenealogyStoreError(.closed, "the store is closed")) }
            guard state.inUse < limit else {
                return .failure(GenealogyStoreError(.busy, "too many queries at once (\(limit)); retry"))
            }
            state.inUse += 1
            return .success(state.idle.popLast())
        }
        let reader: PooledReader
        do {
            reader = try taken.get() ?? open()
        } catch {
            if case .success = taken { state.withLock { $0.inUse -= 1 } }
            throw error
        }
        defer {
            // Back to the pool unless the pool is full or closed; dropping it closes the connection.
            state.withLock { state in
                state.inUse -= 1
                if !state.closed && state.idle.count < idleCapacity { state.idle.append(reader) }
            }
        }
        return try body(reader.connection)
    }

    /// Closes the idle connections and refuses new reads; connections in use close when returned.
    func close() {
        let idle = state.withLock { state -> [PooledReader] in
            state.closed = true
            defer { state.idle = [] }
            return state.idle
        }
        _ = idle  // released here, outside the lock
    }

    private func open() throws(GenealogyStoreError) -> PooledReader {
        do throws(SQLiteError) {
            return PooledReader(try SQLiteConnection(path: path, mode: .readOnly))
        } catch {
            throw GenealogyStoreError(.queryFailed, "cannot open a read-only connection", underlying: error)
        }
    }
}
