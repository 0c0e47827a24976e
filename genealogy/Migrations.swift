/// One versioned change of the genealogy schema: a SQL script from `genealogy/migrations/`.
public struct Migration: Sendable, Hashable {
    /// Applied in ascending order; recorded in `schema_migrations` and `PRAGMA user_version`.
    public let version: Int
    public let name: String
    public let sql: String
}

/// The schema's history, oldest first. A new migration is a new file in `migrations/` plus a line
/// here; released files are never edited.
public enum Migrations {
    public static let all: [Migration] = [
        // SwiftPM embeds `migrations/0001_initial.sql` as `_001_initial_sql` (a leading digit becomes `_`).
        Migration(version: 1, name: "initial", sql: text(PackageResources._001_initial_sql)),
        Migration(version: 2, name: "holds", sql: text(PackageResources._002_holds_sql)),
        Migration(version: 3, name: "outbox_posting", sql: text(PackageResources._003_outbox_posting_sql)),
        Migration(version: 4, name: "audit", sql: text(PackageResources._004_audit_sql)),
        Migration(version: 5, name: "epcis_imports", sql: text(PackageResources._005_epcis_imports_sql)),
        Migration(version: 6, name: "outbox_holds", sql: text(PackageResources._006_outbox_holds_sql)),
        Migration(version: 7, name: "trace_index", sql: text(PackageResources._007_trace_index_sql)),
        Migration(version: 8, name: "status_counts", sql: text(PackageResources._008_status_counts_sql)),
        Migration(version: 9, name: "replication", sql: text(PackageResources._009_replication_sql)),
        Migration(version: 10, name: "enterprise_holds", sql: text(PackageResources._010_enterprise_holds_sql)),
        Migration(version: 11, name: "outbox_skipped", sql: text(PackageResources._011_outbox_skipped_sql)),
        Migration(version: 12, name: "corrections", sql: text(PackageResources._012_corrections_sql)),
        Migration(version: 13, name: "master_data", sql: text(PackageResources._013_master_data_sql)),
        Migration(
            version: 14, name: "exception_workflow", sql: text(PackageResources._014_exception_workflow_sql)),
        Migration(
            version: 15, name: "outbox_counted_per_commit",
            sql: text(PackageResources._015_outbox_counted_per_commit_sql)),
        Migration(version: 16, name: "checks_without_in", sql: text(PackageResources._016_checks_without_in_sql)),
        Migration(
            version: 17, name: "order_output_pairs_by_writer",
            sql: text(PackageResources._017_order_output_pairs_by_writer_sql)),
        Migration(
            version: 18, name: "outbox_without_document_index",
            sql: text(PackageResources._018_outbox_without_document_index_sql)),
        Migration(
            version: 19, name: "inserts_without_triggers", sql: text(PackageResources._019_inserts_without_triggers_sql)
        ),
        Migration(
            version: 20, name: "event_links_from_edges", sql: text(PackageResources._020_event_links_from_edges_sql)),
        Migration(
            version: 21, name: "audit_entries_per_run", sql: text(PackageResources._021_audit_entries_per_run_sql)),
    ]

    /// The version a database has when every migration is applied.
    public static var latestVersion: Int { all.last?.version ?? 0 }

    /// `PRAGMA application_id` of a mesgate store ('MESG'), set by migration 1.
    public static let applicationID: Int32 = 0x4D45_5347

    private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
