import Foundation
import GenealogyStore
import Logging
import ServeConfiguration

/// `serve` refuses a damaged store: before opening it, `PRAGMA quick_check` reads every page and
/// `integrity_check(events)` checks the events table against its indexes (the `event_id` index
/// is what makes a re-sent event a duplicate), bounded by --startup-check-seconds together;
/// damage makes the command exit 1 and say how to restore.
extension ServeCommand {
    static func refuseDamagedStore(_ settings: ServeSettings, logger: Logger) throws {
        let path = (settings.dataDirectory as NSString).appendingPathComponent(GenealogyStore.fileName)
        guard settings.startupCheckSeconds > 0, FileManager.default.fileExists(atPath: path) else { return }
        let report: IntegrityReport
        do throws(GenealogyStoreError) {
            report = try StoreIntegrity.check(
                path: path, depth: .quickAndEvents, maxLines: 10, timeLimit: .seconds(settings.startupCheckSeconds))
        } catch {
            throw fail("cannot open the store in \(settings.dataDirectory) to check it: \(error)")
        }
        guard report.intact else {
            throw fail(damageMessage(report, directory: settings.dataDirectory) + "; it is not served")
        }
        let seconds = String(format: "%.2f", report.seconds)
        if report.finished {
            logger.info("store.startup_check.ok", metadata: ["path": "\(path)", "seconds": "\(seconds)"])
        } else {
            logger.warning(
                "store.startup_check.unfinished",
                metadata: [
                    "path": "\(path)", "seconds": "\(seconds)",
                    "hint": "the store is larger than --startup-check-seconds allows; serving; run mesgate check",
                ])
        }
    }

    /// "the store in DIR is damaged (SQLite quick_check … reported: …); restore it from a backup: …".
    static func damageMessage(_ report: IntegrityReport, directory: String) -> String {
        "the store in \(directory) is damaged (SQLite \(report.depth.name) reported: \(report.summary())); "
            + IntegrityReport.restoreAdvice(directory: directory)
    }
}
