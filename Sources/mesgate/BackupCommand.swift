import ArgumentParser
import Dispatch
import Foundation
import GenealogyStore

/// `mesgate backup`: a consistent copy of the store, taken online while the server ingests, then
/// checked (`PRAGMA quick_check` and the whole audit trail) before it replaces `--to`.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the store consistently while the gateway runs, check the copy, print what it holds.",
        discussion: """
            The copy is the store as it was at one commit (SQLite's online backup under one read transaction, \
            which never blocks the server's writer). It is written beside --to, checked, and only then renamed \
            over --to. Exit 1 when the copy or its check fails (nothing replaces --to).
            """)

    @OptionGroup var location: DataOption

    @Option(help: "The file to write (replaced when the copy is good).")
    var to: String

    @Option(help: "Pages copied per step (4 KiB each); progress is shown between steps.")
    var pagesPerStep: Int32 = 1_024

    @Option(help: "backup-api (pages in steps, with progress) or vacuum-into (one statement, compacted, no progress).")
    var method: StoreBackup.Method = .backupAPI

    func run() async throws {
        let directory = location.directory
        let store = (directory as NSString).appendingPathComponent(GenealogyStore.fileName)
        let started = DispatchTime.now().uptimeNanoseconds
        var shown = 0
        var copiedAt: UInt64?
        let report: StoreCopyReport
        do throws(GenealogyStoreError) {
            report = try StoreBackup.copy(
                storePath: store, to: to, method: method, pagesPerStep: pagesPerStep
            ) { copied, total in
                if copied == total { copiedAt = DispatchTime.now().uptimeNanoseconds }
                // A line per tenth for copies of more than ~40 MB.
                guard total > 10_000, copied * 10 / total > shown else { return }
                shown = copied * 10 / total
                Self.progress("copied \(copied) / \(total) pages (\(shown * 10) %)")
            }
        } catch {
            throw ServeCommand.fail("backup of \(directory) failed: \(error.message)")
        }
        let ended = DispatchTime.now().uptimeNanoseconds
        let seconds = Self.seconds(ended - started)
        // The backup API reports its last page; VACUUM INTO is one statement (no split).
        let split =
            copiedAt.map { " (copy \(Self.seconds($0 - started)) s, check \(Self.seconds(ended - $0)) s)" } ?? ""
        print(
            """
            backup of \(directory) written to \(to): \(report.bytes) bytes, \(report.events) events, \
            audit head \(report.auditHeadID) sha256:\(report.auditHeadHash) (\(report.auditEntries) entries verified), \
            quick_check ok, \(seconds) s\(split)
            """)
    }

    static func seconds(_ nanoseconds: UInt64) -> String { String(format: "%.1f", Double(nanoseconds) / 1e9) }

    static func progress(_ text: String) {
        FileHandle.standardError.write(Data("mesgate backup: \(text)\n".utf8))
    }
}

extension StoreBackup.Method: ExpressibleByArgument {}
