import AdminServer
import Foundation
import GRPCServer
import GenealogyStore
import Logging
import MESServices
import NIOCore
import ServiceLifecycle

/// The wiring of issue 7: logging format, tokens, TLS, the admin listener, SIGHUP reloads.
extension ServeCommand {
    static func bootstrapLogging(_ settings: ServeSettings) {
        let level = settings.logLevel
        switch settings.security.logFormat {
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }

    /// The access guard: from `--tokens`, or open (no authentication) with a loud warning.
    static func accessGuard(_ settings: ServeSettings, logger: Logger) throws(TokenTable.ParseError) -> AccessGuard {
        let nowMs: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
        guard let path = settings.security.tokensPath else {
            logger.warning(
                "auth.disabled: NO TOKEN FILE (--tokens): every client may call every method. Use this on loopback for development only.",
                metadata: ["listen": "\(settings.host):\(settings.port)"])
            return AccessGuard(tokens: nil, logger: logger, nowMs: nowMs)
        }
        let table = try TokenTable.load(path: path)
        logger.info(
            "auth.tokens.loaded",
            metadata: [
                "path": "\(path)", "tokens": "\(table.entries.count)",
                "clients": "\(Set(table.entries.map(\.client)).count)",
            ])
        return AccessGuard(tokens: table, logger: logger, nowMs: nowMs)
    }

    /// TLS in front of the gRPC handler when a certificate is configured; nil means h2c.
    static func tlsPreamble(_ settings: ServeSettings) throws(TLSSetup.Failure) -> (
        @Sendable (any Channel) throws ->
            Void
    )? {
        guard let certificate = settings.security.tlsCertPath, let key = settings.security.tlsKeyPath else {
            return nil
        }
        return try TLSSetup.preamble(certificate: certificate, key: key, clientCA: settings.security.tlsClientCAPath)
    }

    /// The admin listener and the SIGHUP token reloader, placed between the store and the gRPC
    /// server so that they stop after the server has drained (readiness says 503 meanwhile).
    static func operationsServices(
        _ settings: ServeSettings, store: GenealogyStore, metrics: GatewayMetrics, health: HealthService,
        access: AccessGuard, logger: Logger
    ) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: TokenReloadService(path: settings.security.tokensPath, access: access, logger: logger))
        ]
        guard let admin = settings.security.adminListen else { return services }
        let startedAtMs = Int64(Date().timeIntervalSince1970 * 1000)
        let listen = "\(settings.host):\(settings.port)"
        let tls =
            settings.security.tlsCertPath == nil
            ? "h2c (no TLS)" : settings.security.tlsClientCAPath == nil ? "TLS" : "TLS + client certificates"
        let routes = GatewayAdminRoutes(store: store, metrics: metrics) {
            LiveStatus(
                serving: health.isServing, authenticationEnabled: access.authenticationEnabled, grpcListen: listen,
                tls: tls, startedAtMs: startedAtMs,
                recentAuthFailures: access.recentFailures.map {
                    LiveStatus.AuthFailure(atMs: $0.atMs, peer: $0.peer, method: $0.method, reason: $0.reason)
                })
        }
        services.append(
            .init(service: AdminHTTPServer(host: admin.host, port: admin.port, routes: routes, logger: logger)))
        return services
    }
}
