import Foundation
import GenealogyStore
import MESDomain
import SQLite
import Testing

/// Master data revisions (migration 13): a new revision only when content changed, history, and the
/// lookups the validation rules use.
@Suite struct MasterDataTests {
    let fixture = StoreFixture()

    private func steelBOM(_ steel: Double, bolts: Double = 2, minutes: Double = 3) -> MasterItem {
        .bom(
            MasterBOM(
                product: "BRACKET", reference: "", qty: 1, uom: "Units",
                lines: [
                    .init(product: "STEEL", qty: steel, uom: "kg"), .init(product: "BOLT", qty: bolts, uom: "Units"),
                ],
                operations: [.init(sequence: 10, name: "cut", workCenter: "SAW1", minutes: minutes)]))
    }

    private func writer() throws -> MasterDataWriter {
        let store = try fixture.open()
        store.close()
        return try MasterDataWriter(path: fixture.path)
    }

    @Test func aRevisionOnlyWhenContentChanges() throws {
        let book = try writer()
        let first = try book.record([.init(steelBOM(0.8), odooID: 30, odooWriteDate: "2026-12-01 08:00:00")], nowMs: 1)
        #expect(first.map(\.revision) == [1] && first[0].changedFields.isEmpty && first[0].key == "30")
        let same = try book.record([.init(steelBOM(0.8), odooID: 30, odooWriteDate: "2026-12-01 09:00:00")], nowMs: 2)
        #expect(same.isEmpty)
        let changed = try book.record(
            [.init(steelBOM(0.9, minutes: 4), odooID: 30, odooWriteDate: "2026-12-01 10:00:00")], nowMs: 3)
        #expect(changed.map(\.revision) == [2])
        #expect(changed.first?.changedFields == ["lines.STEEL", "operations.cut"])
        #expect(changed[0].sequence > first[0].sequence)

        let history = try book.read { try MasterDataBook.history(.bom, key: "30", in: $0) }
        #expect(history.map(\.revision) == [1, 2])
        #expect(history.map(\.recordedAtMs) == [1, 3])
        #expect(history[0].item.bom?.lines[0].qty == 0.8 && history[1].item.bom?.lines[0].qty == 0.9)
        #expect(history[1].odooWriteDate == "2026-12-01 10:00:00")
        // Revisions are never changed nor deleted, not even by hand.
        #expect(throws: SQLiteError.self) {
            try book.read { db in try db.execute("UPDATE master_revisions SET content = '{}'") }
        }
        #expect(throws: SQLiteError.self) {
            try book.read { db in try db.execute("DELETE FROM master_revisions") }
        }
    }

    @Test func listAndFollowers() throws {
        let book = try writer()
        _ = try book.record(
            [
                .init(.uom(MasterUoM(name: "kg", category: "Weight", ratio: 1)), odooID: 5, odooWriteDate: "t"),
                .init(.uom(MasterUoM(name: "g", category: "Weight", ratio: 0.001)), odooID: 6, odooWriteDate: "t"),
                .init(.workCenter(MasterWorkCenter(code: "SAW1", name: "Saw 1")), odooID: 24, odooWriteDate: "t"),
            ], nowMs: 1)
        let mark = try book.read { try MasterDataBook.lastSequence(in: $0) }
        _ = try book.record(
            [.init(.workCenter(MasterWorkCenter(code: "SAW1", name: "Band saw")), odooID: 24, odooWriteDate: "u")],
            nowMs: 2)
        let uoms = try book.read { try MasterDataBook.list(.uom, in: $0) }
        #expect(uoms.map(\.key) == ["g", "kg"])
        let all = try book.read { try MasterDataBook.list(nil, in: $0) }
        #expect(all.count == 3 && all.first { $0.kind == .workCenter }?.revision == 2)
        let after = try book.read { try MasterDataBook.revisions(after: mark, limit: 10, in: $0) }
        #expect(after.map(\.key) == ["SAW1"] && after[0].changedFields == ["name"])
    }

    @Test func lookupsForValidation() throws {
        let book = try writer()
        _ = try book.record(
            [
                .init(.uom(MasterUoM(name: "Units", category: "Unit", ratio: 1)), odooID: 2, odooWriteDate: "t"),
                .init(.uom(MasterUoM(name: "kg", category: "Weight", ratio: 1)), odooID: 5, odooWriteDate: "t"),
                .init(
                    .product(
                        MasterProduct(
                            code: "BOLT", name: "Bolt M6", tracking: "none", uom: "Units", uomCategory: "Unit")),
                    odooID: 23, odooWriteDate: "t"),
                .init(.workCenter(MasterWorkCenter(code: "SAW1", name: "Saw 1")), odooID: 24, odooWriteDate: "t"),
                .init(.workCenter(MasterWorkCenter(code: "", name: "Paint")), odooID: 25, odooWriteDate: "t"),
                // A work center whose code is another's name: the code wins.
                .init(.workCenter(MasterWorkCenter(code: "Saw 1", name: "Old saw")), odooID: 26, odooWriteDate: "t"),
                .init(steelBOM(0.8), odooID: 30, odooWriteDate: "t"),
            ], nowMs: 1)
        var archived = steelBOM(5).bom!
        archived.active = false
        var later = steelBOM(7).bom!
        later.sequence = 5
        _ = try book.record(
            [
                .init(.bom(archived), odooID: 29, odooWriteDate: "t"),
                .init(.bom(later), odooID: 31, odooWriteDate: "t"),
            ],
            nowMs: 1)
        try book.read { db in
            let bolt = try MasterDataBook.product(code: "BOLT", in: db)
            #expect(bolt?.tracking == "none" && bolt?.isTracked == false && bolt?.uomCategory == "Unit")
            #expect(try MasterDataBook.product(code: "NOPE", in: db) == nil)
            #expect(try MasterDataBook.uomCategory(of: "kg", in: db) == "Weight")
            #expect(try MasterDataBook.uomCategory(of: "furlong", in: db) == nil)
            #expect(try MasterDataBook.workCenter("SAW1", in: db)?.name == "Saw 1")
            #expect(try MasterDataBook.workCenter("Paint", in: db)?.code == "")
            #expect(try MasterDataBook.workCenter("Saw 1", in: db)?.name == "Old saw")
            #expect(try MasterDataBook.workCenter("Band saw", in: db) == nil)
            let bom = try MasterDataBook.currentBOM(product: "BRACKET", in: db)
            #expect(bom?.odooID == 30 && bom?.revision == 1)
            #expect(bom?.item.bom?.expected(for: 10).map(\.qty) == [8, 20])
            #expect(try MasterDataBook.currentBOM(product: "STEEL", in: db) == nil)
        }
    }

    @Test func readersSeeWhatTheWriterRecorded() throws {
        let store = try fixture.open()
        defer { store.close() }
        let book = try MasterDataWriter(path: fixture.path)
        _ = try book.record(
            [.init(.uom(MasterUoM(name: "kg", category: "Weight", ratio: 1)), odooID: 5, odooWriteDate: "t")], nowMs: 1)
        #expect(try store.masterData { try MasterDataBook.uomCategory(of: "kg", in: $0) } == "Weight")
    }
}
