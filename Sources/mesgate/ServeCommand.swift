import AdminServer
import ArgumentParser
import Foundation
import GRPCServer
import GenealogyStore
import Logging
import MESDomain
import MESMessages
import MESServices
import OutboxPoster
import Replication
import ServeConfiguration
import ServiceLifecycle

/// `mesgate serve`: the gateway itself.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve gRPC (EventIngest, Genealogy, Quality, WorkOrders, MasterData, health, reflection) over h2c.",
        discussion: """
            Events published by MES clients are acked only once they are committed to the SQLite \
            genealogy store in --data. SIGTERM or SIGINT: stop accepting, let open streams finish for \
            up to --shutdown-grace-seconds, commit what is queued, checkpoint, exit 0.
            """
    )

    @OptionGroup var options: ServeOptions
    @OptionGroup(title: "Odoo") var odoo: OdooOptions

    func run() async throws {
        let settings: ServeSettings
        let posting: PosterConfiguration?
        do {
            settings = try await options.resolve()
            posting = try await odoo.resolve(configPath: options.config)
        } catch {
            throw Self.fail(error.description)
        }
        try await Self.runGateway(settings, role: .plant(posting: posting))
    }

    /// What a gateway process is: a plant's (EventIngest, Odoo posting, replication to the hub),
    /// or the enterprise hub (every plant's events from JetStream; no events of its own).
    enum Role {
        case plant(posting: PosterConfiguration?)
        case hub(servers: [String], options: HubOptions)
    }

    /// Runs a gateway until SIGTERM or SIGINT.
    static func runGateway(_ settings: ServeSettings, role: Role) async throws {
        // A peer or child process that closes its end of a pipe or socket early (graphviz's dot,
        // a client) must give EPIPE on the write, not end the gateway.
        signal(SIGPIPE, SIG_IGN)
        // One server per data folder, for as long as it runs (released when the
        // process ends); taken first, so that a second server says only that.
        let folderLock: DataFolderLock
        do throws(GenealogyStoreError) {
            folderLock = try DataFolderLock.acquire(directory: settings.dataDirectory)
        } catch {
            throw Self.fail(error.message)
        }
        Self.bootstrapLogging(settings)
        let logger = Logger(label: "mesgate")
        let metrics = GatewayMetrics()
        metrics.bootstrap()
        let access: AccessGuard
        do {
            access = try Self.accessGuard(settings, logger: logger)
        } catch {
            throw Self.fail(error.description)
        }

        var storeOptions = StoreOptions()
        storeOptions.synchronous = settings.synchronous
        storeOptions.queueCapacity = settings.queueCapacity
        storeOptions.holdOnQualityFail = settings.holdOnQualityFail
        storeOptions.masterData.rules = settings.masterDataRules
        storeOptions.masterData.tolerance = settings.consumptionTolerance
        storeOptions.masterData.decode = EventCodec.stored
        // Another encoding of the same event is a retry; another event under a used id is refused.
        storeOptions.sameEvent = { stored, event in
            (try? stored.withUnsafeBytes { bytes throws(MessageDecodingError) in try EventCodec.decode(bytes) })
                == event
        }
        try Self.refuseDamagedStore(settings, logger: logger)
        let store: GenealogyStore
        do {
            store = try GenealogyStore.open(directory: settings.dataDirectory, options: storeOptions, logger: logger)
        } catch {
            throw Self.fail("cannot open the store in \(settings.dataDirectory): \(error)")
        }

        let descriptors: DescriptorSet
        do {
            descriptors = try DescriptorSet.embedded()
        } catch {
            preconditionFailure("the descriptor set embedded at build time does not decode: \(error)")
        }
        let health = HealthService(services: descriptors.files.flatMap(\.services))
        // NOT_SERVING while the store takes no writes (commits failing, damage) or the server drains.
        let gate = ServingGate(health: health, condition: store.condition, logger: logger)
        let ingest = EventIngestService(
            store: store,
            validator: EventValidator(nowMs: { Int64(Date().timeIntervalSince1970 * 1000) }),
            logger: logger)
        let released: [WorkOrder]
        do {
            released = try store.releasedWorkOrders()
        } catch {
            logger.error("workorders.load_failed", metadata: ["error": "\(error)"])
            released = []
        }
        let board = WorkOrderBoard(orders: released)
        let (masterData, masterDataSequence) = Self.masterDataBoard(store, logger: logger)
        let plantMethods =
            ingest.methods + WorkOrdersService(board: board).methods + MasterDataService(board: masterData).methods
        var methods = health.methods + ReflectionService(descriptors: descriptors).methods
        switch role {
        case .plant: methods += plantMethods
        case .hub:
            methods += GRPCMethod.refusing(
                plantMethods,
                with: GRPCStatus(
                    .failedPrecondition,
                    "this is the hub: events, released orders and master data are each plant's (mesgate serve --replicate); call that plant's gateway"
                ))
        }
        var genealogy = GenealogyService(store: store, logger: logger)
        genealogy.onExported = { record in
            // Every export is an audit entry: who, which lot, what went out.
            let request = record.request
            store.appendAudit(
                actor: record.client ?? record.peer, action: AuditAction.export, subject: "lot \(request.lot)",
                detail:
                    "format \(request.format), direction \(request.direction), \(record.bytes) bytes, "
                    + "\(record.items) items, \(record.events) events\(record.truncated ? ", truncated" : "")"
            ) { result in
                if case .failure(let error) = result {
                    logger.error("audit.export.failed", metadata: ["error": "\(error)"])
                }
            }
        }
        methods += genealogy.methods
        let isHub = if case .hub = role { true } else { false }
        methods += QualityService(store: store, logger: logger, plantsWait: isHub ? .seconds(5) : nil).methods
        // Exceptions: the board starts with what the store has not closed, then hears of every
        // committed change (before the server listens, so nothing raised is missed).
        let unclosed: [PlantException]
        do {
            unclosed = try store.exceptionList(limit: ExceptionBoard.defaultLimit)
        } catch {
            logger.error("exceptions.load_failed", metadata: ["error": "\(error)"])
            unclosed = []
        }
        let exceptionBoard = ExceptionBoard(unclosed: unclosed)
        store.watchExceptions { exceptionBoard.apply($0) }
        methods += ExceptionsService(store: store, board: exceptionBoard, logger: logger).methods

        var serverConfiguration = GRPCServerConfiguration()
        serverConfiguration.host = settings.host
        serverConfiguration.port = settings.port
        serverConfiguration.maxMessageBytes = settings.maxMessageBytes
        serverConfiguration.maxConcurrentStreams = settings.maxConcurrentStreams
        serverConfiguration.maxConnections = settings.maxConnections
        serverConfiguration.maxConnectionsPerAddress = settings.maxConnectionsPerAddress
        serverConfiguration.idleTimeout = .seconds(Int64(settings.idleTimeoutSeconds))
        serverConfiguration.outputBudget = GRPCOutputBudget(limitBytes: settings.outputBudgetBytes)
        serverConfiguration.shutdownGracePeriod = .seconds(Int64(settings.shutdownGraceSeconds))
        do {
            serverConfiguration.connectionPreamble = try Self.tlsPreamble(settings)
        } catch {
            store.close()
            throw Self.fail(error.description)
        }
        // Every method goes behind tokens and roles (AccessPolicy), whichever service it is from.
        let server = GRPCServer(configuration: serverConfiguration, methods: access.wrap(methods), logger: logger)

        // Shut down in reverse order: health says NOT_SERVING, the server drains, the store commits and closes.
        var posterService: PosterService?
        if case .plant(let posting?) = role {
            let poster = OutboxPoster(storePath: store.path, configuration: posting, logger: logger)
            let release = ReleasePoller(
                configuration: posting.odoo, storePath: store.path, intervalMs: posting.releasePollMs, logger: logger,
                onOrder: { board.update($0) })
            let masterDataPoller = MasterDataPoller(
                configuration: posting.odoo, storePath: store.path, intervalMs: posting.masterDataPollMs,
                after: masterDataSequence, logger: logger, onRevisions: { masterData.update($0) })
            posterService = PosterService(
                poster: poster, release: release, masterData: masterDataPoller, logger: logger)
        } else if case .plant = role {
            logger.notice("odoo.posting.off", metadata: ["reason": "no odoo-url: the outbox accumulates"])
        }
        var replicator: PlantReplicator?
        var holdTaker: EnterpriseHoldTaker?
        if case .plant = role, let replication = settings.replication {
            replicator = PlantReplicator(
                storePath: store.path, plant: replication.plant, servers: replication.servers, logger: logger)
            holdTaker = EnterpriseHoldTaker(
                store: store, plant: replication.plant, servers: replication.servers,
                hubDomain: replication.hubDomain, logger: logger)
        }
        var applier: HubApplier?
        if case .hub(let servers, let options) = role {
            applier = HubApplier(store: store, servers: servers, options: options, logger: logger)
        }
        let operations = Self.operations(
            settings, store, metrics, health, access, logger, role: role,
            replication: { [replicator, settings] in
                guard let replicator, let replication = settings.replication else { return nil }
                let status = replicator.status
                return LiveStatus.Replication(
                    plant: replication.plant.name, servers: replication.servers.joined(separator: ","),
                    connected: status.connected, lagEvents: status.lagEvents, lagSeconds: status.lagSeconds,
                    problem: status.stopped ?? status.lastError)
            },
            hub: { [applier, store, role] in
                guard let applier, case .hub(let servers, _) = role else { return nil }
                let status = applier.status
                return LiveStatus.Hub(
                    servers: servers.joined(separator: ","), connected: status.connected, problem: status.lastError,
                    plants: (try? store.hubPlants()) ?? [], holds: (try? store.openHoldDeliveries(limit: 50)) ?? [])
            },
            odoo: { [posterService] in
                guard let posterService else { return nil }
                let paused = posterService.poster.status.pausedUntilMs
                return LiveStatus.OdooPosting(
                    url: posterService.poster.url, pausedUntilMs: paused > 0 ? paused : nil)
            })
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: StoreService(store: store, logger: logger)),
            .init(service: operations),
        ]
        if let posterService { services.append(.init(service: posterService)) }
        if let replicator, let holdTaker {
            services.append(
                .init(service: ReplicatorService(replicator: replicator, holdTaker: holdTaker, logger: logger)))
        }
        if let applier { services.append(.init(service: HubApplierService(applier: applier, logger: logger))) }
        if settings.integrityCheckHours > 0 {
            let interval = Duration.milliseconds(Int64(settings.integrityCheckHours * 3_600_000))
            services.append(
                .init(
                    service: IntegrityCheckService(
                        store: store, directory: settings.dataDirectory, interval: interval, logger: logger)))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services + [
                    .init(service: server),
                    .init(service: ServingStatusService(gate: gate)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        logger.info(
            "mesgate starting",
            metadata: [
                "listen": "\(settings.host):\(settings.port)", "data": "\(settings.dataDirectory)",
                "sync": "\(settings.synchronous.rawValue)",
            ])
        do {
            try await group.run()
        } catch let error as GRPCServerError {
            store.close()
            throw Self.fail("\(error)")
        } catch let error as AdminHTTPServer.BindError {
            store.close()
            throw Self.fail("\(error)")
        }
        logger.info("mesgate stopped")
        withExtendedLifetime(folderLock) {}
    }

    /// The master data board as stored (the newest revision of every item), and the number of the
    /// newest revision it holds (the poller hands it what comes after).
    static func masterDataBoard(_ store: GenealogyStore, logger: Logger) -> (MasterDataBoard, Int64) {
        do {
            let (current, last) = try store.masterData { db in
                (try MasterDataBook.list(nil, in: db), try MasterDataBook.lastSequence(in: db))
            }
            return (MasterDataBoard(current: current), last)
        } catch {
            logger.error("masterdata.load_failed", metadata: ["error": "\(error)"])
            return (MasterDataBoard(), 0)
        }
    }

    /// Prints one line for the user and makes the command exit 1.
    static func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("mesgate: \(message)\n".utf8))
        return ExitCode.failure
    }
}
