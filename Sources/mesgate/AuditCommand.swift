import ArgumentParser
import Foundation
import GenealogyStore
import LotExport

/// `mesgate audit`: read and verify the hash-chained audit trail. Opens the store file read-only
/// (safe while the gateway runs).
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify or list the tamper-evident audit trail (who, what, when, why).",
        subcommands: [Verify.self, List.self],
        defaultSubcommand: List.self
    )

    /// Exit codes of `verify`: 0 intact, 1 not intact, 2 could not be checked.
    static let notIntact: Int32 = 1
    static let cannotCheck: Int32 = 2

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Recompute the whole chain; exit 0 when intact, 1 naming the first entry altered, removed or reordered.",
            discussion: """
                Checks ids 1, 2, 3, ... without gaps, every entry's hash (SHA-256 over the one before and its \
                own columns), and every record an entry describes (the stored event, hold or outbox command \
                is there and unchanged), and that every stored event has an entry; then SQLite's integrity_check \
                of the tables it read and of their indexes (the event_id index makes re-sent events duplicates): \
                a damaged store exits 1 too. Removing entries from the \
                end cannot be seen from the file alone: record the head it prints elsewhere and give it back \
                with --anchor. Exit 2: the store could not be read.
                """)

        @OptionGroup var location: DataOption

        @Option(help: "ID:HASH of a head recorded earlier; fails when that entry is gone or differs.")
        var anchor: String?

        func run() async throws {
            let expected = try anchor.map(Self.parseAnchor)
            let trail = try location.openAuditTrail()
            let stderr = FileHandle.standardError
            let result: AuditVerification
            do throws(GenealogyStoreError) {
                result = try trail.verify { done, total in
                    stderr.write(Data("audit verify: \(done) / \(total) entries\n".utf8))
                }
            } catch {
                let cause = error.underlying.map { " (SQLite: \($0.message))" } ?? ""
                stderr.write(Data("mesgate: \(error.message)\(cause)\n".utf8))
                throw ExitCode(AuditCommand.cannotCheck)
            }
            if let problem = result.problem {
                var text = "mesgate: audit trail NOT intact: \(problem.message)\n"
                if problem.kind == .damaged {
                    text +=
                        "mesgate: \(IntegrityReport.restoreAdvice(directory: location.directory))\n"
                }
                stderr.write(Data(text.utf8))
                throw ExitCode(AuditCommand.notIntact)
            }
            if let (id, hash) = expected {
                guard let found = try trail.hash(ofEntry: id) else {
                    stderr.write(
                        Data(
                            "mesgate: audit trail NOT intact: entry \(id) missing (the trail ends at \(result.headID): truncated)\n"
                                .utf8))
                    throw ExitCode(AuditCommand.notIntact)
                }
                guard found == hash else {
                    stderr.write(
                        Data(
                            "mesgate: audit trail NOT intact: entry \(id): hash differs from the anchor (rewritten)\n"
                                .utf8))
                    throw ExitCode(AuditCommand.notIntact)
                }
            }
            print("audit trail intact: \(result.entries) entries, head \(result.headID) sha256:\(result.headHash)")
        }

        static func parseAnchor(_ text: String) throws -> (Int64, String) {
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            let hash = parts.count == 2 ? parts[1].replacingOccurrences(of: "sha256:", with: "").lowercased() : ""
            guard parts.count == 2, let id = Int64(parts[0]), id > 0, hash.count == 64,
                hash.allSatisfy({ $0.isHexDigit })
            else {
                throw ValidationError("--anchor must be ID:HASH, e.g. 1234:9f86d0…(64 hex digits)")
            }
            return (id, hash)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the trail, oldest first: who, what, when, why.")

        @OptionGroup var location: DataOption

        @Option(
            help:
                "Entries from this time on: Unix ms, a local date or time (2026-11-27, 2026-11-27T08:00), or ISO 8601 with an offset."
        )
        var since: String?

        @Option(help: "Only this action (event_stored, hold_placed, hold_released, export, auth_failure, ...).")
        var action: String?

        @Option(help: "How many entries to list.")
        var limit = 100

        @Flag(help: "Print JSON instead of text.")
        var json = false

        /// The actions the trail holds (`audit_log.action`).
        static let actions = AuditAction.all

        func validate() throws {
            if let action, !Self.actions.contains(action) {
                throw ValidationError("unknown --action \(action): one of \(Self.actions.joined(separator: ", "))")
            }
            if limit < 0 { throw ValidationError("--limit must be 0 or more") }
        }

        func run() async throws {
            let sinceMs = try since.map(Self.parseTime)
            let trail = try location.openAuditTrail()
            let entries = try trail.entries(sinceMs: sinceMs, action: action, limit: max(0, limit))
            if json {
                let objects = entries.map { e -> [String: Any] in
                    [
                        "id": e.id, "at_ms": e.atMs, "actor": e.actor, "action": e.action, "subject": e.subject,
                        "reason": e.reason, "detail": e.detail, "record_digest": e.recordDigest, "hash": e.hash,
                    ]
                }
                let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            for e in entries {
                let when = MachineTime.text(e.atMs)
                let why = e.reason.isEmpty ? "" : "  why: \(e.reason)"
                let detail = e.detail.isEmpty ? "" : "  (\(e.detail))"
                print("#\(e.id) \(when) \(e.actor.isEmpty ? "-" : e.actor) \(e.action) \(e.subject)\(why)\(detail)")
            }
        }

        static func parseTime(_ text: String) throws -> Int64 {
            if let ms = Int64(text) { return ms }
            if let ms = MachineTime.parse(text) { return ms }
            throw ValidationError(
                "--since must be Unix ms, a local date or time (2026-11-27, 2026-11-27T08:00) or ISO 8601 with an offset"
            )
        }
    }
}

extension DataOption {
    /// The audit trail of the store in `--data`; exits `AuditCommand.cannotCheck` when it cannot be read.
    func openAuditTrail() throws -> AuditTrail {
        let path = (directory as NSString).appendingPathComponent(GenealogyStore.fileName)
        do throws(GenealogyStoreError) {
            return try AuditTrail(path: path)
        } catch {
            FileHandle.standardError.write(Data("mesgate: \(error.message)\n".utf8))
            throw ExitCode(AuditCommand.cannotCheck)
        }
    }
}
