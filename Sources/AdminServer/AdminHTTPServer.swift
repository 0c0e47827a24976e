public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
public import ServiceLifecycle

/// The admin HTTP/1.1 listener (`--admin-listen`, default 127.0.0.1:9464): /metrics, /healthz,
/// /readyz and the status page. A swift-service-lifecycle `Service`: binds in `run()`, closes
/// the listening socket on graceful shutdown, and stops its own event loop.
public final class AdminHTTPServer: Service, Sendable {
    let host: String
    let port: Int
    let routes: any AdminRoutes
    let access: AdminAccess
    let logger: Logger

    /// `access`: who may read the pages other than the probes (default: everyone).
    public init(host: String, port: Int, routes: any AdminRoutes, access: AdminAccess = .open, logger: Logger) {
        self.host = host
        self.port = port
        self.routes = routes
        self.access = access
        self.logger = logger
    }

    /// A failure to bind the admin port.
    public struct BindError: Error, CustomStringConvertible {
        public var description: String
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let routes = self.routes
        let access = self.access
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(routes: routes, access: access))
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw BindError(description: "cannot listen for admin HTTP on \(host):\(port): \(error)")
        }
        logger.info("admin.listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
        // Ends on graceful shutdown, or when the group is cancelled (another service failed).
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                try? await channel.closeFuture.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
        try? await channel.close()
        try? await group.shutdownGracefully()
        logger.info("admin.stopped")
    }
}
