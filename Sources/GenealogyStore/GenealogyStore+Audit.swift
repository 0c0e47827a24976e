import Foundation
import MESDomain
import SQLite
import Synchronization

/// Audit entries the gateway writes itself (exports, token reloads, authentication failures):
/// appended on the writer thread, so that they take their place in the one chain.
extension GenealogyStore {
    /// Queues one entry (no stored record: its `record_digest` is empty). `completion` runs once,
    /// on the writer thread, with the entry's id after its batch commits, or with the error.
    public func appendAudit(
        actor: String, action: String, subject: String, reason: String = "", detail: String = "",
        completion: @escaping @Sendable (Result<Int64, GenealogyStoreError>) -> Void
    ) {
        let id = Mutex<Int64>(0)
        let command = WriterCommand { [audit] db, nowMs throws(SQLiteError) in
            let entry = try audit.append(
                AuditDraft(atMs: nowMs, actor: actor, action: action, subject: subject, reason: reason, detail: detail),
                on: db)
            id.withLock { $0 = entry }
        }
        let placeholder = IngestRequest(event: Event(eventID: "", occurredAtMs: 0, body: nil), raw: [], client: "")
        let submitted = submit(placeholder, command: command) { outcome in
            switch outcome {
            case .failed(let error): completion(.failure(error))
            case .accepted, .duplicate: completion(.success(id.withLock { $0 }))
            }
        }
        switch submitted {
        case .queued: break
        case .full: completion(.failure(GenealogyStoreError(.queueFull, "the store's queue is full; retry")))
        case .closed: completion(.failure(GenealogyStoreError(.closed, "the store is closed")))
        }
    }

    /// `appendAudit`, awaiting the committed entry's id.
    @discardableResult
    public func appendAudit(actor: String, action: String, subject: String, reason: String = "", detail: String = "")
        async throws(GenealogyStoreError) -> Int64
    {
        let result = await withCheckedContinuation {
            (done: CheckedContinuation<Result<Int64, GenealogyStoreError>, Never>) in
            appendAudit(actor: actor, action: action, subject: subject, reason: reason, detail: detail) {
                done.resume(returning: $0)
            }
        }
        return try result.get()
    }
}
