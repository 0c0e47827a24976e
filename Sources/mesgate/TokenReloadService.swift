import Logging
import MESServices
import ServiceLifecycle
import UnixSignals

/// Reloads the token file on SIGHUP. Open connections and calls go on; the next call is checked
/// against the new table. A file that does not parse is refused and the old table stays.
struct TokenReloadService: Service {
    /// nil: no token file; SIGHUP is trapped anyway (so it does not kill the process) and logged.
    let path: String?
    let access: AccessGuard
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            guard let path else {
                logger.notice("auth.tokens.reload_skipped", metadata: ["reason": "no token file (--tokens)"])
                continue
            }
            do {
                let table = try TokenTable.load(path: path)
                access.replaceTokens(table)
                logger.notice(
                    "auth.tokens.reloaded",
                    metadata: [
                        "tokens": "\(table.entries.count)", "clients": "\(Set(table.entries.map(\.client)).count)",
                    ])
            } catch {
                logger.error(
                    "auth.tokens.reload_failed", metadata: ["error": "\(error.description)", "kept": "previous"])
            }
        }
    }
}
