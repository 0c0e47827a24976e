import Foundation
import GenealogyStore
import Logging
import MESDomain
import Odoo

/// Which BoM revision a released order was released with (issue 14): the revision of its
/// `bom_id` when mesgate first saw the order with that BoM, kept for the order's life (a confirmed
/// order's components no longer follow its BoM in Odoo). The BoM is read from Odoo and recorded
/// as master data when it changed, so the revision named is the content the order was read with.
///
/// Not `Sendable`: used on the release poller's thread.
final class BOMRevisions {
    private let reader: OdooMasterData
    private let writer: MasterDataWriter
    private let orders: WorkOrderStore
    private let logger: Logger

    init(reader: OdooMasterData, writer: MasterDataWriter, orders: WorkOrderStore, logger: Logger) {
        self.reader = reader
        self.writer = writer
        self.orders = orders
        self.logger = logger
    }

    /// The BoM key and revision for the order called `name` whose `bom_id` is `bomID` (("", 0) without one).
    func revision(of name: String, bomID: Int?) throws(OdooError) -> (key: String, revision: UInt64) {
        guard let bomID else { return ("", 0) }
        let key = String(bomID)
        if let old = try? orders.stored(name), old.bom == key, old.bomRevision > 0 { return (key, old.bomRevision) }
        let read = try reader.readBOMs([bomID])
        do {
            _ = try writer.record(read, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
            let current = try writer.read { try MasterDataBook.current(.bom, odooID: Int64(bomID), in: $0) }
            return (key, current?.revision ?? 0)
        } catch {
            logger.error("odoo.release.bom_failed", metadata: ["error": "\(error)", "order": "\(name)"])
            return (key, 0)
        }
    }
}
