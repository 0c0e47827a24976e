import ArgumentParser
import Foundation
import GenealogyStore

/// `mesgate check`: SQLite's full `PRAGMA integrity_check` of the store (every page, every index
/// against its table). Opens the file read-only: safe while the gateway runs.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the store file for damage (SQLite integrity_check); exit 0 intact, 1 damaged, 2 not checked.",
        discussion: """
            Reads the whole file, so it takes about as long as reading it from disk. A damaged store is \
            not served (serve runs a quick check at start and this full check every --integrity-check-hours): \
            restore it from a backup with `mesgate restore --from BACKUP --data DIR`.
            """)

    @OptionGroup var location: DataOption

    @Option(help: "Problems to list at most.")
    var maxLines = 100

    func run() async throws {
        let directory = location.directory
        let path = (directory as NSString).appendingPathComponent(GenealogyStore.fileName)
        guard FileManager.default.fileExists(atPath: path) else {
            FileHandle.standardError.write(Data("mesgate: no store in \(directory) (give --data DIR)\n".utf8))
            throw ExitCode(2)
        }
        let report: IntegrityReport
        do throws(GenealogyStoreError) {
            report = try StoreIntegrity.check(path: path, depth: .full, maxLines: max(1, maxLines))
        } catch {
            FileHandle.standardError.write(Data("mesgate: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let seconds = String(format: "%.1f", report.seconds)
        guard report.intact else {
            var text = "mesgate: the store in \(directory) is DAMAGED; SQLite integrity_check reported:\n"
            for line in report.problems { text += "  \(line)\n" }
            text += "mesgate: \(IntegrityReport.restoreAdvice(directory: directory))\n"
            FileHandle.standardError.write(Data(text.utf8))
            throw ExitCode.failure
        }
        print("store intact: SQLite integrity_check found no damage in \(path) (\(seconds) s)")
    }
}
