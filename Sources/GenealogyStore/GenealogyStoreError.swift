public import SQLite

/// Why the store could not do something: a code to match on, a message for people, and the SQLite
/// error underneath when there is one. Never contains event payloads or SQL arguments.
public struct GenealogyStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The store's directory cannot be created or written.
        case directoryNotWritable
        /// The file exists but is not a mesgate genealogy store.
        case notAStore
        /// The file was written by a newer mesgate (its schema version is above this build's).
        case newerSchema
        /// The file's schema is older than this build's and only `serve` migrates (`openForTool`).
        case olderSchema
        /// Another process holds the data folder (`DataFolderLock`); the message names its pid.
        case folderInUse
        /// A backup or the file given to restore failed its check (quick_check, audit trail).
        case checkFailed
        /// Opening, configuring or migrating the database failed.
        case openFailed
        /// One event could not be stored (its savepoint was rolled back; the batch went on).
        case eventFailed
        /// The batch's transaction could not begin or commit (disk full, I/O error): nothing of it is stored.
        case commitFailed
        /// A query failed.
        case queryFailed
        /// The store is closed.
        case closed
        /// The writer's queue is full: retry soon (not closed: the store is still there).
        case queueFull
        /// Every reader the store allows is in use (`StoreOptions.maxReaders`): retry soon.
        case busy
        /// The event was refused (a Shipped of a held item); it is not stored.
        case refused
        /// The event's id is stored already with another body (a re-used `event_id`); not stored.
        case conflict
        /// The event breaks a master-data rule in `refuse` mode (`field` names what); not stored.
        case invalid
    }

    public var code: Code
    public var message: String
    public var underlying: SQLiteError?
    /// The request field a refusal names (`.invalid`), "" otherwise.
    public var field = ""

    public init(_ code: Code, _ message: String, underlying: SQLiteError? = nil, field: String = "") {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.field = field
    }

    public var description: String {
        guard let underlying else { return "\(code.rawValue): \(message)" }
        return "\(code.rawValue): \(message) (\(underlying))"
    }
}
