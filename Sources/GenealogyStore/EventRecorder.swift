import MESDomain
import SQLite

/// Turns one event into rows: the event itself, then its nodes, edges, receipts or shipments,
/// status changes, exceptions and outbox row (see genealogy/MODEL.md).
///
/// Writer thread only, inside the batch's transaction and the event's savepoint.
struct EventRecorder {
    /// What became of one event inside the transaction.
    enum Result {
        case stored(Int64)
        case duplicate(Int64)
        /// Not stored: a Shipped of a held item (recorded in `refused_events`).
        case refused(String)
        /// Not stored: its event id is stored with another body (recorded in `refused_events`).
        case conflict(String)
        /// Not stored: a master-data rule in `refuse` mode (recorded in `refused_events`): the
        /// field it names and why.
        case invalid(field: String, reason: String)
    }

    let rows: GenealogyRows
    /// Whether a QualityResult FAIL places a hold on its lot (`StoreOptions.holdOnQualityFail`).
    var holdOnQualityFail = false
    /// Whether stored bytes are the same event as a new one (`StoreOptions.sameEvent`).
    var sameEvent: (@Sendable ([UInt8], Event) -> Bool)?
    /// The master-data checks (`StoreOptions.masterData`) and what the writer read of it.
    var masterData = MasterDataChecks()
    var masterDataCache = MasterDataCache()
    /// What open propagating holds cover: an edge from one of these extends the hold (`HoldBook.extend`).
    let held: HeldNodes
    private var db: SQLiteConnection { rows.db }
    /// The store's audit chain, attached to the write connection (see `AuditChain.on`).
    private var audit: AuditChain? { rows.mirrors?.audit }

    init(db: SQLiteConnection, nowMs: Int64, held: HeldNodes) {
        self.rows = GenealogyRows(db: db, nowMs: nowMs)
        self.held = held
    }

    func record(_ request: IngestRequest) throws(SQLiteError) -> Result {
        let event = request.event
        let kind = event.body?.name ?? ""
        let eventID = request.storedEventID
        // Look first: an upsert that does nothing would still use up an AUTOINCREMENT sequence.
        if let origin = request.origin {
            let applied = try db.scalar(
                "SELECT sequence FROM plant_events WHERE plant = ?1 AND plant_sequence = ?2",
                [.text(origin.plant), .integer(origin.sequence)])
            if case .integer(let sequence) = applied { return .duplicate(sequence) }
        }
        if let (sequence, stored) = try db.cachedStatement("SELECT sequence, raw FROM events WHERE event_id = ?1")
            .first(
                [.text(eventID)], { ($0.int64(at: 0), $0.blob(at: 1)) })
        {
            // The same event again (a retry), or another one under a used id: that is refused.
            if request.origin != nil || stored == request.raw || sameEvent?(stored, event) == true {
                return .duplicate(sequence)
            }
            let reason =
                "event_id \(event.eventID) is stored already (sequence \(sequence)) with another body: give the new event its own id, or correct the stored one"
            try keepRefused(request, kind: "event_id_reused", detail: reason)
            return .conflict(reason)
        }
        if held.isStale { try held.reload(from: db) }
        if request.origin == nil, let reason = try HoldGuard(db: db, nowMs: rows.nowMs).refusal(of: request) {
            try audit?.eventRefused(request, reason: reason, atMs: rows.nowMs, on: db)
            return .refused(reason)
        }
        let masterDataGuard = MasterDataGuard(db: db, nowMs: rows.nowMs, checks: masterData, cache: masterDataCache)
        let findings = request.origin == nil ? try masterDataGuard.findings(event) : []
        if let refusal = findings.first(where: { $0.mode == .refuse }) {
            let reason = "\(refusal.detail) (master data rule \(refusal.rule.rawValue))"
            try keepRefused(request, kind: refusal.rule.rawValue, detail: "\(refusal.field): \(reason)")
            return .invalid(field: refusal.field, reason: reason)
        }
        try db.run(
            """
            INSERT INTO events (event_id, kind, occurred_at_ms, tz_offset, plant, work_center, operator_id,
              work_order, client, recorded_at_ms, raw)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
            """,
            [
                .text(eventID), .text(kind), .integer(event.occurredAtMs), .text(event.tzOffset),
                .text(event.plant), .text(event.workCenter), .text(event.operatorID), .text(event.workOrder),
                .text(request.client), .integer(rows.nowMs), .blob(request.raw),
            ])
        let sequence = db.lastInsertRowID
        if let origin = request.origin {
            try db.run(
                "INSERT INTO plant_events (plant, plant_sequence, sequence, recorded_at_ms) VALUES (?1, ?2, ?3, ?4)",
                [.text(origin.plant), .integer(origin.sequence), .integer(sequence), .integer(origin.recordedAtMs)])
        }
        try audit?.eventStored(request, kind: kind, sequence: sequence, recordedAtMs: rows.nowMs, on: db)
        if let body = event.body {
            try recordBody(body, of: event, sequence: sequence, posted: request.origin == nil)
            if request.origin != nil { try claimMade(body, sequence: sequence) }
        }
        if request.origin == nil, holdOnQualityFail, try HoldGuard(db: db, nowMs: rows.nowMs).holdIfFailed(request) {
            held.markStale()
        }
        if request.origin == nil {
            try masterDataGuard.raise(findings, sequence: sequence, event: event, posted: true)
            try masterDataGuard.checkConsumption(event, sequence: sequence, posted: true)
            try masterDataGuard.checkShortage(event, sequence: sequence, posted: true)
        }
        return .stored(sequence)
    }

    /// Keeps an event the store refuses in `refused_events` (what `mesgate exceptions` lists) and
    /// the audit trail, with why.
    private func keepRefused(_ request: IngestRequest, kind: String, detail: String) throws(SQLiteError) {
        try db.run(
            """
            INSERT INTO refused_events (kind, event_id, detail, client, raw, created_at_ms)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            """,
            [
                .text(kind), .text(request.event.eventID), .text(detail), .text(request.client), .blob(request.raw),
                .integer(rows.nowMs),
            ])
        try audit?.eventRefused(request, reason: detail, atMs: rows.nowMs, on: db)
    }

    /// At the hub: what this plant event makes (a production's output, a consumption's `into`, a
    /// split's new lot) that the hub first met as another plant's receipt (it applies plants in
    /// the order their streams arrive, not the order things happened) was made here: the node
    /// takes this event as its origin and first event, so a trace names the plant that made it.
    private func claimMade(_ body: EventBody, sequence: Int64) throws(SQLiteError) {
        let made: (ref: LotRef, origin: GenealogyRows.Origin)? =
            switch body {
            case .produced(let p): (p.output, .produced)
            case .consumed(let c): c.into.map { ($0, .produced) }
            case .moved(let m): m.newLot.map { ($0, .split) }
            default: nil
            }
        guard let made else { return }
        // One probe of the node's unique index; a write only in the rare case it applies.
        let (condition, values): (String, [SQLiteValue]) =
            switch made.ref.kind {
            case .serial:
                ("kind = 'serial' AND product = ?3 AND serial = ?4", [.text(made.ref.product), .text(made.ref.serial)])
            case .container:
                ("kind = 'container' AND container = ?3 AND ?4 = ''", [.text(made.ref.container), .text("")])
            case .lot: ("kind = 'lot' AND product = ?3 AND lot = ?4", [.text(made.ref.product), .text(made.ref.lot)])
            case .untracked, .incomplete: ("?3 != ?4", [.text(""), .text("")])
            }
        try db.cachedStatement(
            """
            UPDATE nodes SET origin = ?2, first_sequence = ?1
            WHERE \(condition) AND origin = 'received' AND first_sequence < ?1
            """
        ).run([.integer(sequence), .text(made.origin.rawValue)] + values)
    }

    /// The rows of `body`; an outbox row too when `posted` (not at the hub).
    private func recordBody(_ body: EventBody, of event: Event, sequence: Int64, posted: Bool) throws(SQLiteError) {
        let p = body.name
        let workOrder = event.workOrder
        let order: Int64? = workOrder.isEmpty ? nil : try rows.order(workOrder, sequence: sequence)
        switch body {
        case .received(let b):
            let lot = try rows.node(
                b.lot, origin: .received, flagUnknown: false, role: "lot", sequence: sequence, field: "\(p).lot")
            try rows.setLocation(lot, b.location)
            try db.run(
                """
                INSERT INTO receipts (node_id, supplier, supplier_lot, purchase_order, qty, uom, location, sequence)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                """,
                [
                    .integer(lot), .text(b.supplier), .text(b.supplierLot), .text(b.purchaseOrder),
                    .optionalReal(b.qty?.value), .text(b.qty?.uom ?? ""), .text(b.location), .integer(sequence),
                ])

        case .consumed(let b):
            // Untracked material (product only) makes no node and no edge: event and outbox row only.
            guard b.component.isTracked else { break }
            // Into a tracked output, the direct edge links both nodes to the event (`EventLinks`).
            let intoOutput = b.into?.isTracked ?? false
            let component = try input(
                b.component, role: intoOutput ? nil : "component", sequence: sequence, field: "\(p).component")
            if let into = b.into, into.isTracked {
                let output = try rows.node(
                    into, origin: .produced, flagUnknown: false, role: nil, sequence: sequence, field: "\(p).into")
                try rows.edge(
                    "direct", from: component, to: output, qty: b.qty, workOrder: workOrder, sequence: sequence)
                try extendHolds(from: component, to: output)
                if let order {
                    try rows.orderOutput(
                        order: order, output: output, qty: nil, workOrder: workOrder, sequence: sequence)
                    try extendHolds(from: order, to: output)
                }
            } else if let order {
                try rows.edge(
                    "order_input", from: component, to: order, qty: b.qty, workOrder: workOrder, sequence: sequence)
                try extendHolds(from: component, to: order)
            } else {
                try rows.exception(
                    .unlinkedConsumption, sequence: sequence, node: component, lot: b.component,
                    detail: "\(p) names neither into nor a work order: no genealogy edge")
            }

        case .produced(let b):
            let output = try rows.node(
                b.output, origin: .produced, flagUnknown: false, role: "output", sequence: sequence,
                field: "\(p).output")
            try rows.setLocation(output, b.location)
            if let order {
                try rows.orderOutput(
                    order: order, output: output, qty: b.good, workOrder: workOrder, sequence: sequence)
                try extendHolds(from: order, to: output)
            }

        case .operation:
            break

        case .downtime(let b):
            try stoppage(b, of: event, sequence: sequence, posted: posted)

        case .quality(let b):
            let lot = try rows.node(
                b.lot, origin: .unknown, flagUnknown: false, role: "lot", sequence: sequence, field: "\(p).lot")
            let outcome =
                switch b.outcome {
                case .pass: "pass"
                case .fail: "fail"
                case .warn: "warn"
                case .unspecified: ""
                }
            try rows.setQuality(lot, outcome)
            try qualityAlert(b, node: lot, of: event, sequence: sequence, posted: posted)

        case .shipped(let b):
            let lot = try input(b.lot, role: "lot", sequence: sequence, field: "\(p).lot")
            try rows.setStatus(lot, "shipped")
            try db.run(
                """
                INSERT INTO shipments (node_id, customer, delivery, destination, qty, uom, sequence)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                """,
                [
                    .integer(lot), .text(b.customer), .text(b.delivery), .text(b.destination),
                    .optionalReal(b.qty?.value), .text(b.qty?.uom ?? ""), .integer(sequence),
                ])

        case .scrapped(let b):
            guard b.lot.isTracked else { break }
            let lot = try input(b.lot, role: "lot", sequence: sequence, field: "\(p).lot")
            try rows.setStatus(lot, "scrapped")

        case .packed(let b):
            try recordPacked(b, workOrder: workOrder, sequence: sequence)

        case .moved(let b):
            let lot = try input(b.lot, role: "lot", sequence: sequence, field: "\(p).lot")
            if let newLot = b.newLot, newLot.isTracked {
                let split = try rows.node(
                    newLot, origin: .split, flagUnknown: false, role: "new_lot", sequence: sequence,
                    field: "\(p).new_lot")
                try rows.setLocation(split, b.toLocation)
                try rows.edge("split", from: lot, to: split, qty: b.qty, workOrder: workOrder, sequence: sequence)
                try extendHolds(from: lot, to: split)
            } else {
                try rows.setLocation(lot, b.toLocation)
            }
        }
        if posted, let outbox = OutboxRoute(event: event, body: body) {
            try rows.outbox(
                sequence: sequence, kind: p, documentKey: outbox.documentKey, latencyClass: outbox.latencyClass)
        }
    }

    private func recordPacked(_ b: Packed, workOrder: String, sequence: Int64) throws(SQLiteError) {
        let adding = b.action != .delete
        let container = try rows.node(
            b.container, origin: adding ? .packed : .unknown, flagUnknown: !adding, role: "container",
            sequence: sequence, field: "packed.container")
        for (i, item) in b.contents.enumerated() {
            let field = "packed.contents[\(i)]"
            let node = try input(item, role: "content", sequence: sequence, field: field)
            if adding {
                try rows.edge(
                    "containment", from: node, to: container, qty: nil, workOrder: workOrder, sequence: sequence)
                try extendHolds(from: node, to: container)
            } else if try !rows.unpack(item: node, container: container, sequence: sequence) {
                try rows.exception(
                    .notInContainer, sequence: sequence, node: node, lot: item,
                    detail: "\(field) \(item) is not packed in \(b.container)")
            }
        }
    }

    /// After an edge `from` → `to`: when open propagating holds cover `from`, they cover `to` and
    /// what is reached from it too. No query unless `from` is covered.
    private func extendHolds(from: Int64, to: Int64) throws(SQLiteError) {
        guard !held.isEmpty else { return }
        let holds = held.holds(on: from)
        guard !holds.isEmpty else { return }
        try HoldBook(db: db, nowMs: rows.nowMs).extend(holds, to: to, held: held)
    }

    /// A node named as an input: flagged `unknown_lot` when nothing created it.
    private func input(_ ref: LotRef, role: String?, sequence: Int64, field: @autoclosure () -> String)
        throws(SQLiteError) -> Int64
    {
        try rows.node(ref, origin: .unknown, flagUnknown: true, role: role, sequence: sequence, field: field())
    }
}
