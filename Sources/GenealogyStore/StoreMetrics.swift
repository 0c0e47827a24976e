import Metrics

/// The writer's metrics (swift-metrics), recorded on the writer thread after each commit.
enum StoreMetrics {
    static let eventsCommitted = Counter(label: "mesgate_store_events_committed_total")
    static let duplicates = Counter(label: "mesgate_store_events_duplicate_total")
    static let failed = Counter(label: "mesgate_store_events_failed_total")
    /// Events refused by a rule (a Shipped of a held item, a re-used event id, a master-data rule
    /// in refuse mode), not failures of the store.
    static let refused = Counter(label: "mesgate_store_events_refused_total")
    /// Events per committed transaction (group commit).
    static let batchEvents = Recorder(label: "mesgate_store_commit_batch_events", aggregate: true)
    /// How long the oldest event of a batch waited in the queue before the writer took the batch.
    static let queueWait = Timer(label: "mesgate_store_queue_wait_seconds", preferredDisplayUnit: .seconds)
    /// BEGIN to COMMIT of one batch (the log's sync is `walSync`, after it; with `synchronous`
    /// normal or off there is none).
    static let commitDuration = Timer(label: "mesgate_store_commit_seconds", preferredDisplayUnit: .seconds)
    /// One `fdatasync` of the write-ahead log by `CommitSyncer`, which the acks of the batches
    /// committed before it wait for.
    static let walSyncDuration = Timer(label: "mesgate_store_wal_sync_seconds", preferredDisplayUnit: .seconds)
    /// The writer copying the last frames of a long WAL so the log can start over (WALCheckpointer).
    static let walTailCopy = Timer(label: "mesgate_store_wal_tail_copy_seconds", preferredDisplayUnit: .seconds)
    /// Page cache the write connection holds (bounded by its `cache_size`): the largest part of
    /// the process's memory that grows with the store, sampled at most once a second.
    static let writerCacheBytes = Gauge(label: "mesgate_store_writer_cache_bytes")

    /// Counts the batch's events; store commands (holds, audit entries) are not events.
    static func committed(_ outcomes: [IngestOutcome], of batch: [Submission]) {
        var accepted = 0
        var duplicate = 0
        var failures = 0
        var refusals = 0
        for (submission, outcome) in zip(batch, outcomes) where submission.command == nil {
            switch outcome {
            case .accepted: accepted += 1
            case .duplicate: duplicate += 1
            case .failed(let error) where [.refused, .conflict, .invalid].contains(error.code): refusals += 1
            case .failed: failures += 1
            }
        }
        if accepted > 0 { eventsCommitted.increment(by: accepted) }
        if duplicate > 0 { duplicates.increment(by: duplicate) }
        if failures > 0 { failed.increment(by: failures) }
        if refusals > 0 { refused.increment(by: refusals) }
        failures += refusals
        let events = accepted + duplicate + failures
        if events > 0 && failures < events { batchEvents.record(events) }
    }
}
