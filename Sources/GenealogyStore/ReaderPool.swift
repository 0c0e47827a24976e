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

/// Read-only connections for queries, opened on demand and kept idle up to a number.
///
/// Never blocks: when every idle connection is in use, a caller opens one more, and at most
/// `capacity` are kept when they come back. Connections run on the caller's thread.
final class ReaderPool: Sendable {
    private struct State {
        var idle: [PooledReader] = []
        var closed = false
    }

    private let path: String
    private let capacity: Int
    private let state = Mutex(State())

    init(path: String, capacity: Int) {
        self.path = path
        self.capacity = max(0, capacity)
    }

    /// Runs `body` with a read-only connection on the calling thread.
    func withReader<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        let taken = state.withLock { state -> Result<PooledReader?, GenealogyStoreError> in
            if state.closed { return .failure(GenealogyStoreError(.closed, "the store is closed")) }
            return .success(state.idle.popLast())
        }
        let reader = try taken.get() ?? open()
        defer {
            // Back to the pool unless the pool is full or closed; dropping it closes the connection.
            state.withLock { state in
                if !state.closed && state.idle.count < capacity { state.idle.append(reader) }
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
