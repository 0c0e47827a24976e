import Metrics

/// Metrics of `mes.v1.EventIngest`, made once (swift-metrics; exported by the admin listener).
enum IngestMetrics {
    /// From submitting an event to the store until its batch committed: the part of an ack's
    /// latency that the gateway adds after decoding.
    static let ackLatency = Timer(label: "mesgate_ingest_ack_latency_seconds")
}

extension Timer {
    /// Records the time since `start`.
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
