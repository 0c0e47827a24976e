import GRPCServer
import GenealogyStore
import Logging
import MESDomain
import MESMessages
import NIOCore

/// `mes.v1.Quality`: PlaceHold and ReleaseHold, run on the store's writer thread so that a hold
/// and the Shipped events around it are serialized. Who placed it: the client named by the bearer
/// token, else the peer address (when the server runs without authentication).
public struct QualityService: Sendable {
    public static let serviceName = "mes.v1.Quality"

    let store: GenealogyStore
    let logger: Logger
    /// At the hub: how long an answer waits for the plants to apply the hold (or release) it sends
    /// them; nil at a plant.
    let plantsWait: Duration?

    public init(store: GenealogyStore, logger: Logger, plantsWait: Duration? = nil) {
        self.store = store
        self.logger = logger
        self.plantsWait = plantsWait
    }

    public var methods: [GRPCMethod] {
        [
            GRPCMethod(path: "/\(Self.serviceName)/PlaceHold", requests: .one) { context, writer in
                DeferredCallHandler(context: context, writer: writer) { message, context, done in
                    self.hold(message, context: context, place: true, done: done)
                }
            },
            GRPCMethod(path: "/\(Self.serviceName)/ReleaseHold", requests: .one) { context, writer in
                DeferredCallHandler(context: context, writer: writer) { message, context, done in
                    self.hold(message, context: context, place: false, done: done)
                }
            },
        ]
    }

    func hold(
        _ message: ByteBuffer, context: GRPCCallContext, place: Bool,
        done: @escaping @Sendable (DeferredAnswer) -> Void
    ) {
        let request: HoldRequest
        do {
            request = try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
                try HoldCodec.decodeRequest(bytes)
            }
        } catch {
            return done(.failure(GRPCStatus(.invalidArgument, "\(error)")))
        }
        guard request.lot.isTracked else {
            return done(.failure(GRPCStatus(.invalidArgument, "lot: must name a lot, serial or container")))
        }
        let who = context.who
        let logger = self.logger
        let (store, plantsWait) = (self.store, self.plantsWait)
        let completion: @Sendable (HoldOutcome) -> Void = { outcome in
            switch outcome {
            case .changed(let lots):
                logger.info(
                    place ? "quality.hold.placed" : "quality.hold.released",
                    metadata: ["lot": "\(request.lot)", "items": "\(lots.count)", "by": "\(who)"])
                Task {
                    // What already shipped and what another hold covers, read after the commit.
                    let followUp: HoldFollowUp
                    do {
                        followUp = try store.holdFollowUp(root: request.lot, released: !place)
                    } catch {
                        logger.warning("quality.hold.follow_up_failed", metadata: ["error": "\(error)"])
                        followUp = HoldFollowUp()
                    }
                    var plants: [PlantHoldState] = []
                    if let plantsWait {
                        plants = await Self.plants(store, request.lot, release: !place, waiting: plantsWait, logger)
                    }
                    done(.success([HoldCodec.encodeResult(lots, plants: plants, followUp: followUp)]))
                }
            case .notFound:
                done(.failure(GRPCStatus(.notFound, "\(request.lot) is not in the genealogy store")))
            case .noOpenHold:
                done(.failure(GRPCStatus(.failedPrecondition, "no open hold was placed on \(request.lot)")))
            case .failed(let error):
                logger.error("quality.hold.failed", metadata: ["error": "\(error)"])
                done(.failure(.storeUnavailable(error, otherwise: "the store could not record the hold; retry")))
            }
        }
        if place {
            store.placeHold(request, by: who, completion: completion)
        } else {
            store.releaseHold(request, by: who, completion: completion)
        }
    }

    /// At the hub: the plants the holds on `lot` concern and whether each has applied the latest
    /// change, waiting up to `wait` for all of them (the hub's applier sends it within a moment).
    static func plants(
        _ store: GenealogyStore, _ lot: LotRef, release: Bool, waiting wait: Duration, _ logger: Logger
    ) async -> [PlantHoldState] {
        let deadline = ContinuousClock.now + wait
        var states: [PlantHoldState] = []
        while true {
            do {
                // The newest hold on the lot is the one just placed (or, usually, the one just released).
                let all = try store.holdDeliveries(lot: lot)
                let newest = all.map(\.holdID).max()
                let deliveries = all.filter { $0.holdID == newest }
                var byPlant: [String: PlantHoldState] = [:]
                for delivery in deliveries {
                    let applied =
                        release
                        ? delivery.releaseAppliedAtMs != nil : delivery.appliedAtMs != nil
                    var state = byPlant[delivery.plant] ?? PlantHoldState(plant: delivery.plant, lots: 0, applied: true)
                    state.lots += delivery.lots
                    state.applied = state.applied && applied
                    byPlant[delivery.plant] = state
                }
                states = byPlant.values.sorted { $0.plant < $1.plant }
            } catch {
                logger.warning("quality.hold.plants_unknown", metadata: ["error": "\(error)"])
                return states
            }
            if (!states.isEmpty && states.allSatisfy(\.applied)) || ContinuousClock.now >= deadline { return states }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}
