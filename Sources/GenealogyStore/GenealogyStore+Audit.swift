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
        submitCommand(failed: { .failure($0) }, completion: completion) { [audit] db, nowMs throws(SQLiteError) in
            .success(
                try audit.append(
                    AuditDraft(
                        atMs: nowMs, actor: actor, action: action, subject: subject, reason: reason, detail: detail),
                    on: db))
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
