import AdminServer
import Foundation
import GRPCServer
import GenealogyStore
import Logging
import MESServices
import NIOCore
import ServeConfiguration
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

    /// The admin listener and the SIGHUP token reloader, as one service placed between the store
    /// and the gRPC server so that it stops after the server has drained (readiness says 503
    /// meanwhile).
    static func operations(
        _ settings: ServeSettings, _ store: GenealogyStore, _ metrics: GatewayMetrics, _ health: HealthService,
        _ access: AccessGuard, _ logger: Logger, role: Role,
        replication: @escaping @Sendable () -> LiveStatus.Replication? = { nil },
        hub: @escaping @Sendable () -> LiveStatus.Hub? = { nil },
        odoo: @escaping @Sendable () -> LiveStatus.OdooPosting? = { nil }
    ) -> OperationsService {
        let failureAudit = AuthFailureAudit(store: store, logger: logger)
        access.auditFailures(to: failureAudit)
        let reload = TokenReloadService(
            path: settings.security.tokensPath, access: access, store: store, failureAudit: failureAudit,
            logger: logger)
        guard let admin = settings.security.adminListen else { return OperationsService(services: [reload]) }
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
                },
                clients: access.clientActivity.map {
                    LiveStatus.ClientActivity(
                        client: $0.client, lastCallAtMs: $0.lastCallAtMs, lastMethod: $0.lastMethod, calls: $0.calls)
                }, replication: replication(), odoo: odoo(), hub: hub())
        }
        let adminAccess: AdminAccess =
            settings.security.adminAuthRequired
            ? .checked { authorization, peer in
                guard let refusal = access.checkAdmin(authorization: authorization, peer: peer) else { return .allowed }
                return refusal.code == .permissionDenied
                    ? .forbidden(refusal.message) : .unauthenticated(refusal.message)
            } : .open
        let server = AdminHTTPServer(
            host: admin.host, port: admin.port, routes: routes, access: adminAccess, logger: logger)
        return OperationsService(services: [reload, server])
    }
}

/// Runs several services as one: until all end; the first error ends the others and is thrown.
/// Graceful shutdown reaches each of them (it is inherited by child tasks).
struct OperationsService: Service {
    let services: [any Service]

    func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for service in services {
                group.addTask { try await service.run() }
            }
        }
    }
}
