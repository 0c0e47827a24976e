import ArgumentParser
import Foundation
import GenealogyStore
import Logging
import LotExport

/// `mesgate outbox`: what is waiting for Odoo, what failed and why, and the commands that put it
/// right (retry, replay, skip). Works on the store directly, also while the gateway runs; every
/// change is written to `outbox_audit` with the user and the reason.
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "List, show, retry, replay or skip the postings to Odoo.",
        subcommands: [List.self, Show.self, Retry.self, Replay.self, Skip.self],
        defaultSubcommand: List.self
    )

    /// Where the store is, shared by the subcommands.
    struct StoreOptions: ParsableArguments {
        @OptionGroup var location: DataOption

        @Flag(help: "Print JSON instead of text.")
        var json = false

        /// Opens the store (of this build's schema: only `serve` migrates) read-only, and its
        /// outbox, read-only for `list` and `show`: the commands that change postings write
        /// through the outbox's own connection (one short transaction each), not a store writer.
        func open(_ access: ToolAccess) throws -> (GenealogyStore, OutboxStore) {
            let store = try StoreAccess.openExisting(
                location.data, access: .read, logger: Logger(label: "mesgate.outbox"))
            do {
                return (store, try OutboxStore(path: store.path, readOnly: access == .read))
            } catch {
                store.close()
                throw ServeCommand.fail("cannot open the store in \(location.directory): \(error)")
            }
        }
    }

    /// Who runs the command, for the audit trail: the operating-system account (`USER` is often
    /// unset under systemd, cron or a container), and who became it through sudo.
    static var actor: String {
        let account = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(getuid())"
        guard let sudo = ProcessInfo.processInfo.environment["SUDO_USER"], !sudo.isEmpty, sudo != account else {
            return account
        }
        return "\(account) (sudo from \(sudo))"
    }
    static var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func printJSON(_ object: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    static func object(_ e: OutboxEntry) -> [String: Any] {
        [
            "id": e.id, "sequence": e.sequence, "event_id": e.eventID, "kind": e.kind, "document": e.documentKey,
            "latency_class": e.latencyClass, "state": e.state, "attempts": e.attempts,
            "next_attempt_at_ms": e.nextAttemptAtMs, "last_error": e.lastError, "odoo_answer": e.odooAnswer,
            "skipped_reason": e.skippedReason, "created_at_ms": e.createdAtMs, "updated_at_ms": e.updatedAtMs,
            "hold_id": e.holdID, "resolved_note": e.resolvedNote,
        ]
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Count postings by state and list the pending, failed and dead ones.")

        @OptionGroup var store: StoreOptions

        @Option(
            help:
                "Only these states (pending, failed, dead, posted, resolved, skipped); repeatable. Default: pending, failed, dead."
        )
        var state: [String] = []

        @Option(help: "How many rows to list.")
        var limit = 100

        static let states = OutboxState.allCases.map(\.rawValue)

        func validate() throws {
            for name in state where !Self.states.contains(name) {
                throw ValidationError("unknown --state \(name): one of \(Self.states.joined(separator: ", "))")
            }
            if limit < 0 { throw ValidationError("--limit must be 0 or more") }
        }

        func run() async throws {
            let (genealogy, outbox) = try store.open(.read)
            defer { genealogy.close() }
            let states = state.isEmpty ? ["pending", "failed", "dead"] : state
            let counts = try outbox.counts()
            let rows = try outbox.list(states: states, limit: max(0, limit))
            if store.json {
                try OutboxCommand.printJSON(["counts": counts, "rows": rows.map(OutboxCommand.object)])
                return
            }
            print(counts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "  "))
            for e in rows {
                let error = e.lastError.isEmpty ? "" : "  \(e.lastError)"
                let note =
                    e.state == OutboxState.skipped.rawValue
                    ? "  skipped: \(e.skippedReason)" : e.resolvedNote.isEmpty ? "" : "  \(e.resolvedNote)"
                let source =
                    e.holdID != 0
                    ? "hold \(e.holdID)" : e.exceptionID != 0 ? "exception \(e.exceptionID)" : "seq \(e.sequence)"
                print("#\(e.id) \(source) \(e.kind) \(e.documentKey) \(e.state) attempts \(e.attempts)\(error)\(note)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one posting with Odoo's answer.")

        @OptionGroup var store: StoreOptions

        @Argument(help: "The outbox row id.")
        var id: Int64

        func run() async throws {
            let (genealogy, outbox) = try store.open(.read)
            defer { genealogy.close() }
            guard let e = try outbox.entry(id: id) else { throw ServeCommand.fail("no outbox row \(id)") }
            if store.json {
                try OutboxCommand.printJSON(OutboxCommand.object(e))
                return
            }
            for (key, value) in OutboxCommand.object(e).sorted(by: { $0.key < $1.key }) { print("\(key): \(value)") }
            print("created: \(MachineTime.text(e.createdAtMs))")
            print("updated: \(MachineTime.text(e.updatedAtMs))")
            if e.state == "pending" || e.state == "failed" {
                print("next attempt: \(MachineTime.text(e.nextAttemptAtMs))")
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make failed or dead postings (or all of them), or a skipped one, due now.")

        @OptionGroup var store: StoreOptions

        @Argument(
            help:
                "The outbox row ids (the status page lists them by order; a skipped row is posted after all); without any, every failed and dead row."
        )
        var ids: [Int64] = []

        func run() async throws {
            let (genealogy, outbox) = try store.open(.write)
            defer { genealogy.close() }
            var rows = 0
            if ids.isEmpty {
                rows = try outbox.retry(id: nil, actor: OutboxCommand.actor, nowMs: OutboxCommand.nowMs)
            }
            for id in ids {
                let due = try outbox.retry(id: id, actor: OutboxCommand.actor, nowMs: OutboxCommand.nowMs)
                if due == 0 { print("#\(id): not failed, dead or skipped (nothing to retry)") }
                rows += due
            }
            print("\(rows) posting(s) due again")
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Post the events of a sequence range again (postings are idempotent in Odoo).")

        @OptionGroup var store: StoreOptions

        @Option(help: "First event sequence.")
        var from: Int64

        @Option(help: "Last event sequence (default: the first).")
        var to: Int64?

        @Option(help: "Why (kept in the audit trail).")
        var reason = ""

        func run() async throws {
            let (genealogy, outbox) = try store.open(.write)
            defer { genealogy.close() }
            let rows = try outbox.replay(
                first: from, last: to ?? from, actor: OutboxCommand.actor, reason: reason, nowMs: OutboxCommand.nowMs)
            print("\(rows) posting(s) queued for replay")
        }
    }

    struct Skip: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Give up on a pending, failed or dead posting: it becomes skipped, is never posted and leaves its order's totals (audited, with a reason)."
        )

        @OptionGroup var store: StoreOptions

        @Argument(help: "The outbox row id.")
        var id: Int64

        @Option(help: "Why it is skipped (required).")
        var reason: String

        func run() async throws {
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ServeCommand.fail("--reason must say why")
            }
            let (genealogy, outbox) = try store.open(.write)
            defer { genealogy.close() }
            let rows = try outbox.skip(id: id, reason: reason, actor: OutboxCommand.actor, nowMs: OutboxCommand.nowMs)
            guard rows > 0 else {
                throw ServeCommand.fail(
                    "no pending, failed or dead outbox row \(id) (posted, resolved and skipped rows stay as they are)")
            }
            print("skipped \(id)")
        }
    }
}
