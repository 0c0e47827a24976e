import Foundation
import MESDomain
import SQLite

/// What the writer has read of the master data, kept between batches until the poller records a
/// new revision (`master_revisions`' newest id moves). Writer thread only.
final class MasterDataCache {
    private var seen: Int64 = -1
    private(set) var isLoaded = false
    var products: [String: MasterProduct?] = [:]
    var units: [String: MasterUoM?] = [:]
    var workCenters: [String: Bool] = [:]

    /// Forgets what changed since the last batch; reads one row.
    func refresh(_ db: SQLiteConnection) throws(SQLiteError) {
        let newest = try MasterDataBook.lastSequence(in: db)
        guard newest != seen else { return }
        seen = newest
        isLoaded = newest > 0
        products = [:]
        units = [:]
        workCenters = [:]
    }

    func product(_ code: String, _ db: SQLiteConnection) throws(SQLiteError) -> MasterProduct? {
        if let known = products[code] { return known }
        let found = try MasterDataBook.product(code: code, in: db)
        products[code] = .some(found)
        return found
    }

    func unit(_ name: String, _ db: SQLiteConnection) throws(SQLiteError) -> MasterUoM? {
        if let known = units[name] { return known }
        let found = try MasterDataBook.uom(named: name, in: db)
        units[name] = .some(found)
        return found
    }

    func knowsWorkCenter(_ name: String, _ db: SQLiteConnection) throws(SQLiteError) -> Bool {
        if let known = workCenters[name] { return known }
        let found = try MasterDataBook.workCenter(name, in: db) != nil
        workCenters[name] = found
        return found
    }
}

/// The order events one checked event reads (`MasterDataGuard.storedEvents`), by order.
private final class OrderEventsRead {
    var events: [String: [(sequence: Int64, event: Event)]] = [:]
}

/// The master-data rules and the consumption tolerance on the writer thread, inside the event's
/// transaction (genealogy/MODEL.md, "Master data rules"): before an event is stored, what it
/// breaks (a `refuse` rule refuses it); after, the exceptions of `record` rules; at an order's
/// last operation COMPLETED, its consumption against its BoM.
struct MasterDataGuard {
    let db: SQLiteConnection
    let nowMs: Int64
    let checks: MasterDataChecks
    let cache: MasterDataCache
    /// The order's stored events, read once for the event this guard checks.
    private let orders = OrderEventsRead()

    /// What `event` breaks; nothing before master data is read, nor for a check that is off.
    func findings(_ event: Event) throws(SQLiteError) -> [MasterDataRules.Finding] {
        guard checks.decode != nil, cache.isLoaded else { return [] }
        let lookup = try Lookup(event: event, guard: self)
        return checks.rules.findings(event, lookup)
    }

    /// The exceptions of the findings a `record` rule made, for the stored event at `sequence`.
    func raise(_ findings: [MasterDataRules.Finding], sequence: Int64, event: Event, posted: Bool)
        throws(SQLiteError)
    {
        for finding in findings where finding.mode == .record {
            guard let kind = ExceptionKind(rawValue: finding.rule.rawValue) else { continue }
            let item = Self.item(of: event, field: finding.field)
            _ = try ExceptionBook(db: db, nowMs: nowMs).raise(
                kind, sequence: sequence, lot: item?.isTracked == true ? item : nil,
                detail: "\(finding.field): \(finding.detail)", postsToOdoo: posted)
        }
    }

    /// At an operation COMPLETED that ends its order (the last operation of the order's BoM, or
    /// any when the BoM names none): each component consumed outside the tolerance of its BoM
    /// line for the good quantity produced is an exception (`over_consumption`,
    /// `under_consumption`), once per order and component.
    func checkConsumption(_ event: Event, sequence: Int64, posted: Bool) throws(SQLiteError) {
        guard checks.decode != nil, cache.isLoaded, case .operation(let o) = event.body,
            o.state == .completed, !event.workOrder.isEmpty
        else { return }
        let order = event.workOrder
        let events = try storedEvents(of: order).filter { $0.sequence != sequence }.map(\.event)
        var produced: Quantity?
        var product = ""
        var consumed: [String: [Quantity]] = [:]
        for e in events + [event] {
            switch e.body {
            case .produced(let p):
                if product.isEmpty { product = p.output.product }
                if let good = p.good {
                    produced = Quantity(value: (produced?.value ?? 0) + good.value, uom: produced?.uom ?? good.uom)
                }
            case .consumed(let c):
                if let qty = c.qty { consumed[c.component.product, default: []].append(qty) }
            default: break
            }
        }
        guard let produced, let bom = try bom(of: order, product: product) else { return }
        if let last = bom.operations.max(by: { $0.sequence < $1.sequence }), last.name != o.operation,
            bom.operations.contains(where: { $0.name == o.operation })
        {
            return  // not the order's last operation: its consumption may still come
        }
        let expectation = BOMExpectation(
            product: bom.product, productQty: bom.qty, productUom: bom.uom,
            lines: bom.lines.map { .init(component: $0.product, qty: $0.qty, uom: $0.uom) })
        let convert = { (qty: Quantity, into: String) -> Double? in
            if qty.uom == into { return qty.value }
            guard let from = try? cache.unit(qty.uom, db), let to = try? cache.unit(into, db),
                from.category == to.category, to.ratio > 0
            else { return nil }
            return qty.value * from.ratio / to.ratio
        }
        let book = ExceptionBook(db: db, nowMs: nowMs)
        for finding in checks.tolerance.check(
            bom: expectation, produced: produced, consumed: consumed, convert: convert)
        {
            let kind: ExceptionKind = finding.isOver ? .overConsumption : .underConsumption
            let key = "\(order)/\(finding.component)"
            if try book.isOpen(kind, matchKey: key) { continue }
            let percent = Int((finding.tolerance * 100).rounded())
            _ = try book.raise(
                kind, sequence: sequence, lot: nil,
                detail:
                    "\(finding.component): consumed \(Self.number(finding.actual)) \(finding.uom), the BoM of \(bom.product) expects \(Self.number(finding.expected)) \(finding.uom) for \(Self.number(produced.value)) \(produced.uom) made (tolerance \(percent) %)",
                matchKey: key, postsToOdoo: posted)
        }
    }

    /// At an order's first operation STARTED: each component of the released order of which Odoo
    /// had less on hand than the order needs, when the order was last read, is `material_shortage`
    /// (once per order and component while open). Orders Odoo did not release are not judged.
    func checkShortage(_ event: Event, sequence: Int64, posted: Bool) throws(SQLiteError) {
        guard checks.decode != nil, checks.rules.mode(.materialShortage) != .off, case .operation(let o) = event.body,
            o.state == .started, !event.workOrder.isEmpty
        else { return }
        let order = event.workOrder
        let reportedBefore = try storedEvents(of: order).contains { stored in
            guard stored.sequence != sequence, case .operation? = stored.event.body else { return false }
            return true
        }
        guard !reportedBefore, let released = try WorkOrderStore.stored(order, in: db) else { return }
        let book = ExceptionBook(db: db, nowMs: nowMs)
        for component in released.components {
            guard let available = component.available, available + 1e-9 < component.qty else { continue }
            let key = "\(order)/\(component.product)"
            if try book.isOpen(.materialShortage, matchKey: key) { continue }
            _ = try book.raise(
                .materialShortage, sequence: sequence, lot: nil,
                detail:
                    "\(component.product): \(order) needs \(Self.number(component.qty)), Odoo had \(Self.number(available)) on hand when the order was read",
                matchKey: key, postsToOdoo: posted)
        }
    }

    /// The order's stored, uncorrected events, decoded, in commit order: read once per checked
    /// event (before it is stored for the rules, or after, with it, for the order checks).
    private func storedEvents(of order: String) throws(SQLiteError) -> [(sequence: Int64, event: Event)] {
        if let read = orders.events[order] { return read }
        guard let decode = checks.decode else { return [] }
        var found: [(sequence: Int64, event: Event)] = []
        try db.cachedStatement(
            """
            SELECT e.sequence, e.raw FROM nodes n
            JOIN event_nodes en ON en.node_id = n.id AND en.role = 'order'
            JOIN events e ON e.sequence = en.sequence
            WHERE n.kind = 'order' AND n.name = ?1
              AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.sequence = e.sequence)
            ORDER BY e.sequence
            """
        ).query([.text(order)]) { row in
            if let event = decode(row.blob(at: 1)) { found.append((row.int64(at: 0), event)) }
        }
        orders.events[order] = found
        return found
    }

    /// The BoM the order was released with (its revision), else the product's current one.
    private func bom(of order: String, product: String) throws(SQLiteError) -> MasterBOM? {
        let released = try WorkOrderStore.stored(order, in: db)
        if let released, !released.bom.isEmpty {
            let revisions = try MasterDataBook.history(.bom, key: released.bom, in: db)
            if let match = revisions.first(where: { $0.revision == released.bomRevision })?.item.bom { return match }
            if let newest = revisions.last?.item.bom { return newest }
        }
        let product = product.isEmpty ? (released?.product ?? "") : product
        return try MasterDataBook.currentBOM(product: product, in: db)?.item.bom
    }

    /// The item a finding's field names (`consumed.component.product` → the component).
    static func item(of event: Event, field: String) -> LotRef? {
        guard let body = event.body else { return nil }
        let parts = field.split(separator: ".")
        let name = parts.count > 1 ? String(parts[1]) : ""
        return MasterDataRules.items(body).first { $0.0 == name }?.1
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.3g", value)
    }

    /// The rules' view of the store, read before they run (they do not throw).
    private struct Lookup: MasterDataLookup {
        var isLoaded = true
        var products: [String: MasterDataProductFacts] = [:]
        var categories: [String: String] = [:]
        var centers: [String: Bool] = [:]
        var completed = false

        init(event: Event, guard g: MasterDataGuard) throws(SQLiteError) {
            if !event.workCenter.isEmpty {
                centers[event.workCenter] = try g.cache.knowsWorkCenter(event.workCenter, g.db)
            }
            for (_, ref, qty, _) in event.body.map(MasterDataRules.items) ?? [] where !ref.product.isEmpty {
                if let p = try g.cache.product(ref.product, g.db) {
                    products[ref.product] = MasterDataProductFacts(
                        tracking: MasterDataProductFacts.Tracking(rawValue: p.tracking) ?? .none,
                        uomCategory: p.uomCategory.isEmpty ? nil : p.uomCategory)
                }
                if let uom = qty?.uom, !uom.isEmpty, let unit = try g.cache.unit(uom, g.db) {
                    categories[uom] = unit.category
                }
            }
            if case .operation(let o) = event.body, o.state == .completed, !event.workOrder.isEmpty {
                completed = try g.storedEvents(of: event.workOrder).contains { stored in
                    guard case .operation(let before) = stored.event.body else { return false }
                    return before.state == .completed && before.operation == o.operation
                }
            }
        }

        func product(_ code: String) -> MasterDataProductFacts? { products[code] }
        func uomCategory(_ uom: String) -> String? { categories[uom] }
        func knowsWorkCenter(_ name: String) -> Bool { centers[name] ?? false }
        func completedBefore(order: String, operation: String) -> Bool { completed }
    }
}
