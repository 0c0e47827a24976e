public import Logging
internal import Metrics
public import NIOCore
internal import NIOPosix
public import ServiceLifecycle
internal import Synchronization

/// The gRPC server: a swift-service-lifecycle `Service` that listens with SwiftNIO (one event loop
/// per core, one nghttp2 session per connection confined to its loop) and routes calls to methods.
///
/// `run()` binds, serves until graceful shutdown or task cancellation, then sends GOAWAY (shutdown
/// notice, then final GOAWAY) on every connection, lets open streams finish for up to
/// `shutdownGracePeriod`, closes what is left and stops its event loops.
/// Tests learn the bound port (with `port = 0`) from `localAddress`.
public final class GRPCServer: Service, Sendable {
    let configuration: GRPCServerConfiguration
    let methods: [String: GRPCMethod]
    let logger: Logger
    private let state = Mutex(State())

    private enum Phase { case idle, running, draining, stopped }

    private struct State {
        var phase = Phase.idle
        var address: SocketAddress?
        var addressWaiters: [CheckedContinuation<SocketAddress?, Never>] = []
        var shutdownRequested = false
        var shutdownWaiter: CheckedContinuation<Void, Never>?
        var connections: [ObjectIdentifier: (channel: any Channel, address: String)] = [:]
        /// Open connections per remote address (`maxConnectionsPerAddress`).
        var perAddress: [String: Int] = [:]
        var drainedWaiter: CheckedContinuation<Void, Never>?
        var nextConnectionNumber: UInt64 = 0
        var started = false
    }

    public init(configuration: GRPCServerConfiguration, methods: [GRPCMethod], logger: Logger) {
        self.configuration = configuration
        self.methods = Dictionary(methods.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        self.logger = logger
    }

    /// The address the server listens on. Waits until `run()` has bound; nil if binding failed or
    /// the server has stopped.
    public var localAddress: SocketAddress? {
        get async {
            await withCheckedContinuation { continuation in
                let ready: SocketAddress?? = state.withLock { state in
                    switch state.phase {
                    case .idle:
                        state.addressWaiters.append(continuation)
                        return .none
                    case .running, .draining: return .some(state.address)
                    case .stopped: return .some(nil)
                    }
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    public func run() async throws {
        let first = state.withLock { state in
            defer { state.started = true }
            return !state.started
        }
        guard first else { throw GRPCServerError.alreadyRunning }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
        let serverChannel: any Channel
        do {
            serverChannel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in self.initialize(channel) }
                .bind(host: configuration.host, port: configuration.port).get()
        } catch {
            try? await group.shutdownGracefully()
            stopped(address: nil)
            throw GRPCServerError.bindFailed(host: configuration.host, port: configuration.port, reason: "\(error)")
        }
        let waiters = state.withLock { state in
            state.phase = .running
            state.address = serverChannel.localAddress
            defer { state.addressWaiters.removeAll() }
            return state.addressWaiters
        }
        for waiter in waiters { waiter.resume(returning: serverChannel.localAddress) }
        logger.info("grpc.server.listening", metadata: ["address": "\(serverChannel.localAddress?.description ?? "?")"])

        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await self.waitForShutdownRequest()
            } onCancel: {
                self.requestShutdown()
            }
        } onGracefulShutdown: {
            self.requestShutdown()
        }
        await drain(serverChannel: serverChannel, group: group)
    }

    /// Why an accepted connection was closed at once or early.
    enum Refusal: String {
        case tooManyConnections = "too_many_connections"
        case tooManyFromAddress = "too_many_from_address"
        case handshakeTimeout = "handshake_timeout"
    }

    private static func refused(_ reason: Refusal) {
        Counter(label: "mesgate_grpc_connections_refused_total", dimensions: [("reason", reason.rawValue)])
            .increment()
    }

    /// Sets up an accepted connection on its event loop and tracks it for shutdown; closes it at
    /// once when the server or its remote address has as many connections as allowed.
    private func initialize(_ channel: any Channel) -> EventLoopFuture<Void> {
        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        let admission = state.withLock { state -> Result<(UInt64, Bool), RefusalError> in
            if state.connections.count >= configuration.maxConnections {
                return .failure(RefusalError(reason: .tooManyConnections))
            }
            if state.perAddress[address, default: 0] >= configuration.maxConnectionsPerAddress {
                return .failure(RefusalError(reason: .tooManyFromAddress))
            }
            state.nextConnectionNumber += 1
            state.connections[ObjectIdentifier(channel)] = (channel, address)
            state.perAddress[address, default: 0] += 1
            openConnections.record(state.connections.count)
            return .success((state.nextConnectionNumber, state.phase == .draining))
        }
        let number: UInt64
        let draining: Bool
        switch admission {
        case .failure(let refusal):
            Self.refused(refusal.reason)
            logger.debug(
                "grpc.connection.refused", metadata: ["reason": "\(refusal.reason.rawValue)", "peer": "\(address)"])
            return channel.close()
        case .success(let admitted): (number, draining) = admitted
        }
        channel.closeFuture.whenComplete { _ in self.connectionClosed(channel) }
        let logger = self.logger
        return channel.eventLoop.makeCompletedFuture {
            let handler = GRPCConnectionHandler(
                configuration: configuration, methods: methods, connectionNumber: number, logger: logger)
            try configuration.connectionPreamble?(channel)
            let handshake = HandshakeDeadlineHandler(deadline: configuration.handshakeTimeout) {
                Self.refused(.handshakeTimeout)
                logger.debug("grpc.connection.handshake_timeout", metadata: ["peer": "\(address)"])
            }
            try channel.pipeline.syncOperations.addHandler(handshake)
            if let idle = configuration.idleTimeout {
                try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: idle))
            }
            try channel.pipeline.syncOperations.addHandler(handler)
            if draining { handler.beginGracefulShutdown() }
        }
    }

    private struct RefusalError: Error {
        var reason: Refusal
    }

    /// `mesgate_grpc_connections`: connections open now.
    private let openConnections = Gauge(label: "mesgate_grpc_connections")

    private func connectionClosed(_ channel: any Channel) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let closed = state.connections.removeValue(forKey: ObjectIdentifier(channel)) {
                let left = state.perAddress[closed.address, default: 1] - 1
                state.perAddress[closed.address] = left > 0 ? left : nil
            }
            openConnections.record(state.connections.count)
            guard state.connections.isEmpty else { return nil }
            defer { state.drainedWaiter = nil }
            return state.drainedWaiter
        }
        waiter?.resume()
    }

    private func waitForShutdownRequest() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state in
                if state.shutdownRequested { return true }
                state.shutdownWaiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func requestShutdown() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.shutdownRequested = true
            defer { state.shutdownWaiter = nil }
            return state.shutdownWaiter
        }
        waiter?.resume()
    }

    /// Stops accepting, sends GOAWAY everywhere, waits for connections to finish (at most the
    /// grace period), closes the rest and stops the event loops.
    private func drain(serverChannel: any Channel, group: MultiThreadedEventLoopGroup) async {
        logger.info("grpc.server.draining")
        try? await serverChannel.close()
        let connections = state.withLock { state in
            state.phase = .draining
            return state.connections.values.map(\.channel)
        }
        for channel in connections {
            channel.eventLoop.execute {
                channel.pipeline.syncOperations.fireUserInboundEventTriggered(GRPCConnectionHandler.GracefulShutdown())
            }
        }
        let forceClose = group.next().scheduleTask(in: configuration.shutdownGracePeriod) {
            let left = self.state.withLock { $0.connections.values.map(\.channel) }
            if !left.isEmpty {
                self.logger.info("grpc.server.grace_expired", metadata: ["connections": "\(left.count)"])
            }
            for channel in left { channel.close(promise: nil) }
        }
        await withCheckedContinuation { continuation in
            let done = state.withLock { state in
                if state.connections.isEmpty { return true }
                state.drainedWaiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
        forceClose.cancel()
        try? await group.shutdownGracefully()
        stopped(address: nil)
        logger.info("grpc.server.stopped")
    }

    private func stopped(address: SocketAddress?) {
        let waiters = state.withLock { state in
            state.phase = .stopped
            defer { state.addressWaiters.removeAll() }
            return state.addressWaiters
        }
        for waiter in waiters { waiter.resume(returning: address) }
    }
}
