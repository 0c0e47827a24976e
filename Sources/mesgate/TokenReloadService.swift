import GenealogyStore
import Logging
import MESServices
import ServiceLifecycle
import UnixSignals

/// Reloads the token file on SIGHUP. Open connections and calls go on; the next call is checked
/// against the new table. A file that does not parse is refused and the old table stays. Each
/// reload (done, refused or skipped) is written to the audit trail (`config_reload`); at shutdown
/// it writes the count of authentication failures the rate limit kept out of the trail.
struct TokenReloadService: Service {
    /// nil: no token file; SIGHUP is trapped anyway (so it does not kill the process) and logged.
    let path: String?
    let access: AccessGuard
    let store: GenealogyStore
    let failureAudit: AuthFailureAudit
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            guard let path else {
                logger.notice("auth.tokens.reload_skipped", metadata: ["reason": "no token file (--tokens)"])
                await audit(subject: "tokens", reason: "skipped", detail: "no token file (--tokens)")
                continue
            }
            do {
                let table = try TokenTable.load(path: path)
                access.replaceTokens(table)
                let clients = Set(table.entries.map(\.client)).count
                logger.notice(
                    "auth.tokens.reloaded", metadata: ["tokens": "\(table.entries.count)", "clients": "\(clients)"])
                await audit(
                    subject: "tokens \(path)", reason: "reloaded",
                    detail: "\(table.entries.count) token(s), \(clients) client(s)")
            } catch {
                logger.error(
                    "auth.tokens.reload_failed", metadata: ["error": "\(error.description)", "kept": "previous"])
                await audit(
                    subject: "tokens \(path)", reason: "refused", detail: "\(error.description); previous tokens kept")
            }
        }
        await failureAudit.flush()
    }

    /// Who sent the signal is not known to the process: the actor is the signal.
    private func audit(subject: String, reason: String, detail: String) async {
        do {
            try await store.appendAudit(
                actor: "SIGHUP", action: AuditAction.configReload, subject: subject, reason: reason, detail: detail)
        } catch {
            logger.error("audit.append.failed", metadata: ["action": "config_reload", "error": "\(error)"])
        }
    }
}
