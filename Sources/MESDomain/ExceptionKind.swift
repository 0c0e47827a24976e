/// How soon an exception must reach people, like an outbox row's latency class.
public enum ExceptionLatency: String, Sendable, CaseIterable {
    /// At once: the stream, the status page and an Odoo activity on the production order.
    case immediate
    /// Soon: the stream and the status page; no Odoo activity.
    case normal
    /// When someone looks: counted and listed, for a daily check.
    case batch
}

/// Where an exception of a kind goes (besides the store's `exceptions` table).
public struct ExceptionDestinations: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// `mes.v1.Exceptions/Subscribe`: MES clients and andon screens.
    public static let stream = ExceptionDestinations(rawValue: 1)
    /// `mesgate_exceptions_open{kind}` on /metrics.
    public static let metric = ExceptionDestinations(rawValue: 2)
    /// The supervisors' status page (open exceptions, newest first).
    public static let statusPage = ExceptionDestinations(rawValue: 4)
    /// A `mail.activity` on the production order in Odoo (through the outbox), when the exception
    /// names a work order; marked done when it is closed.
    public static let odooActivity = ExceptionDestinations(rawValue: 8)
}

/// The kinds of exception: a deviation the plant reported that a person must look at. Each has
/// a latency class, destinations and a line saying what to do. Stored by `rawValue`.
///
/// The "invalid lot reference" is `unknownLot` (`invalidLotReference` names it): a lot,
/// serial or container an event names that nothing created. The name `unknown_lot` stays, as
/// stored rows, metrics and scripts know it.
public enum ExceptionKind: String, Sendable, CaseIterable {
    // Raised by the genealogy since version 1.
    case unknownLot = "unknown_lot"
    case unlinkedConsumption = "unlinked_consumption"
    case notInContainer = "not_in_container"
    // Validation against master data and the BoM (issue 14, parts 2 and 3).
    case overConsumption = "over_consumption"
    case underConsumption = "under_consumption"
    case unknownProduct = "unknown_product"
    case uomMismatch = "uom_mismatch"
    case lotOnUntracked = "lot_on_untracked"
    case missingLot = "missing_lot"
    case unknownWorkCenter = "unknown_work_center"
    case duplicateCompletion = "duplicate_completion"
    case materialShortage = "material_shortage"
    // Raised by the event itself (issue 14, part 4).
    case machineStopped = "machine_stopped"
    case qualityAlert = "quality_alert"

    /// The "invalid lot reference": the same kind as `unknownLot`.
    public static var invalidLotReference: ExceptionKind { .unknownLot }

    public var latency: ExceptionLatency {
        switch self {
        case .overConsumption, .duplicateCompletion, .materialShortage, .machineStopped, .qualityAlert: .immediate
        case .unknownLot, .notInContainer, .unknownProduct, .uomMismatch, .lotOnUntracked, .missingLot,
            .unknownWorkCenter, .underConsumption:
            .normal
        case .unlinkedConsumption: .batch
        }
    }

    /// Every kind reaches the stream, the metric and the status page; immediate kinds Odoo too.
    public var destinations: ExceptionDestinations {
        let everywhere: ExceptionDestinations = [.stream, .metric, .statusPage]
        return latency == .immediate ? everywhere.union(.odooActivity) : everywhere
    }

    /// What to do, in a line, for the status page and the Odoo activity.
    public var action: String {
        switch self {
        case .unknownLot:
            "Find the lot's receipt or production: record it, or correct the event that names the wrong lot."
        case .unlinkedConsumption:
            "Tell the MES which order or output the material went into, or correct the event."
        case .notInContainer: "Check the container's contents; correct the packing event if it is wrong."
        case .overConsumption:
            "More material was consumed than the BoM allows: check for waste or a wrong report before the order closes."
        case .underConsumption:
            "Less material was reported than the BoM needs for what was made: a consumption report is missing or wrong."
        case .unknownProduct: "Create the product in Odoo, or correct the event's product code."
        case .uomMismatch: "Correct the unit of measure (it must be in the product's UoM category)."
        case .lotOnUntracked: "The product is not tracked in Odoo: drop the lot, or track the product."
        case .missingLot: "The product is tracked by lot: correct the event with the lot used."
        case .unknownWorkCenter: "Create the work center in Odoo, or correct the code the MES sends."
        case .duplicateCompletion: "The operation was completed twice: void the duplicate completion."
        case .materialShortage: "A component is short for the order: move stock to the line or reschedule."
        case .machineStopped: "The machine is stopped: send maintenance; closed when the downtime's end is reported."
        case .qualityAlert: "A quality check failed: hold the lot and decide on rework or scrap."
        }
    }
}

/// The life of an exception: raised open, acknowledged by a person, closed by a person, by the
/// event that ends it, or by a correction of the event that raised it.
public enum ExceptionState: String, Sendable, CaseIterable {
    case open, acknowledged, closed
}
