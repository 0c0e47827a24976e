import GRPCServer
import MESMessages
import NIOCore
import Synchronization

/// `grpc.health.v1.Health`: Check and Watch, for Kubernetes gRPC probes and load balancers.
/// Statuses live in a `Mutex`; watchers are told about changes on their own event loops.
public final class HealthService: Sendable {
    public typealias ServingStatus = HealthCodec.ServingStatus

    private struct State {
        var statuses: [String: ServingStatus]
        var watchers: [Int: Watcher] = [:]
        var nextWatcherID = 0
    }

    /// A Watch call: the loop it lives on and how to tell it about a change.
    private struct Watcher: Sendable {
        var service: String
        var loop: any EventLoop
        var notify: @Sendable (ServingStatus) -> Void
    }

    private let state: Mutex<State>

    /// `services` are the names Check knows, besides "" (the whole server); all start SERVING.
    public init(services: [String]) {
        var statuses: [String: ServingStatus] = ["": .serving]
        for name in services { statuses[name] = .serving }
        state = Mutex(State(statuses: statuses))
    }

    /// Sets one service's status ("" for the whole server) and tells its watchers.
    public func set(_ status: ServingStatus, for service: String = "") {
        let watchers = state.withLock { state -> [Watcher] in
            state.statuses[service] = status
            return state.watchers.values.filter { $0.service == service }
        }
        for watcher in watchers { watcher.loop.execute { watcher.notify(status) } }
    }

    /// Marks every service NOT_SERVING: called when graceful shutdown begins.
    public func shutDown() { setAll(.notServing) }

    /// Sets every service's status, "" included, and tells their watchers.
    public func setAll(_ status: ServingStatus) {
        let names = state.withLock { Array($0.statuses.keys) }
        for name in names { set(status, for: name) }
    }

    func status(of service: String) -> ServingStatus? {
        state.withLock { $0.statuses[service] }
    }

    func addWatcher(
        service: String, loop: any EventLoop, notify: @escaping @Sendable (ServingStatus) -> Void
    ) -> (id: Int, current: ServingStatus) {
        state.withLock { state in
            let id = state.nextWatcherID
            state.nextWatcherID += 1
            state.watchers[id] = Watcher(service: service, loop: loop, notify: notify)
            return (id, state.statuses[service] ?? .serviceUnknown)
        }
    }

    func removeWatcher(_ id: Int) {
        _ = state.withLock { $0.watchers.removeValue(forKey: id) }
    }

    public var methods: [GRPCMethod] {
        [
            GRPCMethod(path: "/grpc.health.v1.Health/Check", requests: .one) { _, writer in
                HealthCheckHandler(service: self, writer: writer)
            },
            GRPCMethod(path: "/grpc.health.v1.Health/Watch", requests: .one) { context, writer in
                HealthWatchHandler(service: self, context: context, writer: writer)
            },
        ]
    }
}

/// Decodes the one request of a health call; answers INVALID_ARGUMENT for bytes that are not one.
private func serviceName(_ message: ByteBuffer, writer: GRPCResponseWriter) -> String? {
    do {
        return try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
            try HealthCodec.decodeRequest(bytes)
        }
    } catch {
        writer.finish(GRPCStatus(.invalidArgument, "\(error)"))
        return nil
    }
}

/// `Health/Check`: the status now, or NOT_FOUND for a service the server does not have.
final class HealthCheckHandler: GRPCCallHandler {
    private let service: HealthService
    private let writer: GRPCResponseWriter

    init(service: HealthService, writer: GRPCResponseWriter) {
        self.service = service
        self.writer = writer
    }

    func receive(_ message: ByteBuffer) {
        guard !writer.isFinished, let name = serviceName(message, writer: writer) else { return }
        guard let status = service.status(of: name) else {
            writer.finish(GRPCStatus(.notFound, "unknown service \(name)"))
            return
        }
        writer.send(bytes: HealthCodec.response(status))
        writer.finish(.ok)
    }

    func endOfInput() {}

    func cancelled() {}
}

/// `Health/Watch`: the status now, then every change, until the client goes away.
final class HealthWatchHandler: GRPCCallHandler {
    private let service: HealthService
    private let context: GRPCCallContext
    private let writer: GRPCResponseWriter
    private var watcherID: Int?
    private var last: HealthService.ServingStatus?

    init(service: HealthService, context: GRPCCallContext, writer: GRPCResponseWriter) {
        self.service = service
        self.context = context
        self.writer = writer
    }

    func receive(_ message: ByteBuffer) {
        guard watcherID == nil, !writer.isFinished, let name = serviceName(message, writer: writer) else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let (id, current) = service.addWatcher(service: name, loop: context.eventLoop) { status in
            bound.value.changed(to: status)
        }
        watcherID = id
        changed(to: current)
    }

    private func changed(to status: HealthService.ServingStatus) {
        guard status != last, !writer.isFinished else { return }
        last = status
        writer.send(bytes: HealthCodec.response(status))
    }

    func endOfInput() {}

    func cancelled() {
        if let watcherID { service.removeWatcher(watcherID) }
        watcherID = nil
    }
}
