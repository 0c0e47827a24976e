extension HealthService {
    /// Whether the whole server ("") is SERVING: for readiness and the status page.
    public var isServing: Bool { status(of: "") == .serving }
}
