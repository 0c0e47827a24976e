import GenealogyStore
import MESDomain
import MESMessages
import Replication
import Testing

@Suite struct PlantMessageTests {
    let plant = try! PlantName("PLANT-A")

    @Test func anEventTravelsWithItsBytesSequenceAndIdentity() throws {
        let event = Event(
            eventID: "ev-1", occurredAtMs: 1_750_000_000_000, tzOffset: "+02:00", plant: "A", workCenter: "WC1",
            operatorID: "op", workOrder: "MO1",
            body: .received(.init(lot: LotRef(product: "RAW", lot: "R1"), qty: Quantity(value: 5, uom: "kg"))))
        let raw = EventCodec.encode(event)
        let record = ReplicationRecord(
            auditID: 12,
            change: .event(
                ReplicatedEvent(
                    sequence: 9, eventID: "ev-1", kind: "received", recordedAtMs: 1_750_000_000_100, client: "mes-1",
                    raw: raw)))
        let message = PlantMessage(record, plant: plant, storeID: "abc")
        #expect(message.subject == "mesgate.plant.PLANT-A.event")
        #expect(message.headers[PlantMessage.Header.messageID] == "PLANT-A-9")
        #expect(message.body == raw)
        let (from, store, change) = try message.change()
        #expect(from == "PLANT-A" && store == "abc")
        guard case .event(let request) = change else {
            Issue.record("not an event: \(change)")
            return
        }
        #expect(request.event == event && request.raw == raw && request.client == "mes-1")
        #expect(request.origin == EventOrigin(plant: "PLANT-A", sequence: 9, recordedAtMs: 1_750_000_000_100))
        #expect(request.storedEventID == "PLANT-A/ev-1")
    }

    @Test func holdsAndReleasesTravelAsHoldRequests() throws {
        let hold = ReplicatedHold(
            id: 4, root: LotRef(product: "RAW", lot: "R1"), reason: "odour", placedBy: "qa-anna", propagate: false,
            placedAtMs: 10, releasedAtMs: 20, releasedBy: "qa-ben", releaseReason: "lab ok")
        let placed = PlantMessage(ReplicationRecord(auditID: 1, change: .holdPlaced(hold)), plant: plant, storeID: "s")
        let released = PlantMessage(
            ReplicationRecord(auditID: 2, change: .holdReleased(hold)), plant: plant, storeID: "s")
        #expect(placed.headers[PlantMessage.Header.messageID] == "PLANT-A-hold-4")
        #expect(released.headers[PlantMessage.Header.messageID] == "PLANT-A-release-4")
        guard case .holdPlaced(let p) = try placed.change().change,
            case .holdReleased(let r) = try released.change().change
        else {
            Issue.record("not a hold and a release")
            return
        }
        #expect(p.request == HoldRequest(lot: hold.root, reason: "odour", propagate: false) && p.by == "qa-anna")
        #expect(p.atMs == 10 && p.id == 4 && p.plant == "PLANT-A")
        #expect(r.request.reason == "lab ok" && r.by == "qa-ben" && r.atMs == 20)
    }

    @Test func correctionsTravelWithThePlantsSequencesAndTheirReason() throws {
        let void = ReplicatedCorrection(
            id: 3, sequence: 41, replacementSequence: nil, reason: "double scan\nsecond line", by: "ana", atMs: 77)
        var replaced = void
        replaced.id = 4
        replaced.replacementSequence = 42
        let voidMessage = PlantMessage(
            ReplicationRecord(auditID: 9, change: .correction(void)), plant: plant, storeID: "s")
        let replacedMessage = PlantMessage(
            ReplicationRecord(auditID: 10, change: .correction(replaced)), plant: plant, storeID: "s")
        #expect(voidMessage.subject == "mesgate.plant.PLANT-A.correction")
        #expect(voidMessage.headers[PlantMessage.Header.messageID] == "PLANT-A-correction-3")
        #expect(voidMessage.headers[PlantMessage.Header.replacementSequence] == nil)
        let (from, _, change) = try voidMessage.change()
        guard case .correction(let v) = change, case .correction(let r) = try replacedMessage.change().change else {
            Issue.record("not corrections")
            return
        }
        #expect(from == "PLANT-A" && v == void && r == replaced)
    }

    @Test(arguments: [
        ([:], "no Mesgate-Plant header"),
        (["Mesgate-Plant": "A", "Mesgate-Store": "s", "Mesgate-Record": "nonsense"], "is not a record this hub knows"),
        (
            ["Mesgate-Plant": "A", "Mesgate-Store": "s", "Mesgate-Record": "event", "Mesgate-Sequence": "x"],
            "Mesgate-Sequence \"x\" is not a number"
        ),
        (
            [
                "Mesgate-Plant": "A", "Mesgate-Store": "s", "Mesgate-Record": "event", "Mesgate-Sequence": "1",
                "Mesgate-Recorded-At-Ms": "5",
            ], "the body is not a mes.v1.Event"
        ),
        (
            [
                "Mesgate-Plant": "A", "Mesgate-Store": "s", "Mesgate-Record": "correction", "Mesgate-Sequence": "1",
                "Mesgate-Correction-Id": "2", "Mesgate-At-Ms": "5",
            ], "the body is not a correction's reason"
        ),
        (
            [
                "Mesgate-Plant": "A", "Mesgate-Store": "s", "Mesgate-Record": "correction", "Mesgate-Sequence": "1",
                "Mesgate-Correction-Id": "2", "Mesgate-At-Ms": "5", "Mesgate-Replacement-Sequence": "",
            ], "no Mesgate-Replacement-Sequence header"
        ),
    ])
    func aMessageTheHubCannotApplySaysWhy(headers: [String: String], reason: String) {
        let message = PlantMessage(subject: "mesgate.plant.A.event", headers: headers, body: [0xFF, 0xFF])
        #expect(throws: PlantMessageError.self) { try message.change() }
        do {
            _ = try message.change()
        } catch {
            #expect(error.description.contains(reason), "\(error)")
        }
    }

    @Test func plantNamesAreSubjectTokens() throws {
        #expect(try PlantName("Plant_7-b").stream == "MESGATE_PLANT_Plant_7-b")
        for bad in ["", "a.b", "a b", "a*", ">", String(repeating: "x", count: 65), "é"] {
            #expect(throws: PlantMessageError.self) { try PlantName(bad) }
        }
    }
}
