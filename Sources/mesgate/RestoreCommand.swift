import ArgumentParser
import Foundation
import GenealogyStore

/// `mesgate restore`: puts a backup in place as the store of a data folder that no server holds.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Put a backup in place as the store of --data (the server must be stopped).",
        discussion: """
            Checks the file first (PRAGMA quick_check, a mesgate store no newer than this build, the whole audit \
            trail). The store it replaces is kept beside it as genealogy.sqlite.before-restore-<time> (with its \
            -wal and -shm). Refused while a server holds the folder's lock (mesgate.lock names its pid). \
            `mesgate serve` migrates a restored store that is older than the build.
            """)

    @Option(help: "The backup file (written by mesgate backup).")
    var from: String

    @Option(help: "The folder to restore into. [env: MESGATE_DATA] (default: ./mesgate-data)")
    var data: String?

    func run() async throws {
        let directory = StoreAccess.directory(data)
        let restored: StoreBackup.Restored
        do throws(GenealogyStoreError) {
            restored = try StoreBackup.restore(from: from, into: directory)
        } catch {
            throw ServeCommand.fail("restore of \(from) into \(directory) refused: \(error.message)")
        }
        let report = restored.report
        print(
            """
            restored \(from) into \(directory): \(report.bytes) bytes, \(report.events) events, \
            audit head \(report.auditHeadID) sha256:\(report.auditHeadHash)
            """)
        if let aside = restored.keptAside { print("the store it replaced is kept as \(aside)") }
    }
}
