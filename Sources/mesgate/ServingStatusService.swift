import ServiceLifecycle

/// Turns health NOT_SERVING as soon as graceful shutdown begins, so probes and load balancers
/// stop sending new work while open streams drain.
struct ServingStatusService: Service {
    let gate: ServingGate

    func run() async throws {
        try? await gracefulShutdown()
        gate.drain()
    }
}
