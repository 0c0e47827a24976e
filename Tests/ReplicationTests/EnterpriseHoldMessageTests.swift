import MESDomain
import Replication
import Testing

@Suite struct EnterpriseHoldMessageTests {
    let plant = try! PlantName("PLANT-B")

    @Test func aHubHoldTravelsWithItsLotsAndComesBackTheSame() throws {
        let hold = EnterpriseHoldMessage(
            hubHoldID: 17, isRelease: false,
            lots: [
                LotRef(product: "BRK", lot: "B1"), LotRef(product: "FG", serial: "S-9"), LotRef(container: "PAL-1"),
            ],
            reason: "supplier recall 7", by: "qa-anna", atMs: 1_750_000_000_000)
        let message = hold.message(for: plant)
        #expect(message.subject == "mesgate.holds.PLANT-B")
        #expect(message.headers[PlantMessage.Header.messageID] == "hub-hold-17-PLANT-B")
        #expect(try EnterpriseHoldMessage(message) == hold)

        let release = EnterpriseHoldMessage(
            hubHoldID: 17, isRelease: true, lots: [], reason: "cleared", by: "qa-ben", atMs: 1_750_000_100_000)
        let released = release.message(for: plant)
        #expect(released.headers[PlantMessage.Header.messageID] == "hub-release-17-PLANT-B")
        #expect(released.body.isEmpty)
        #expect(try EnterpriseHoldMessage(released) == release)
    }

    @Test(arguments: [
        ([:], [UInt8](), "is not an enterprise hold"),
        (["Mesgate-Record": "enterprise-hold"], [], "no hold id"),
        (["Mesgate-Record": "enterprise-hold", "Mesgate-Hold-Id": "3"], [0, 0, 0, 9, 1, 2], "a lot is cut short"),
        (["Mesgate-Record": "enterprise-hold", "Mesgate-Hold-Id": "3"], [0, 0], "a lot is cut short"),
        (
            ["Mesgate-Record": "enterprise-hold", "Mesgate-Hold-Id": "3"], [0, 0, 0, 2, 0xFF, 0xFF],
            "not a mes.v1.HoldRequest"
        ),
    ])
    func aMessageAPlantCannotReadSaysWhy(headers: [String: String], body: [UInt8], reason: String) {
        let message = PlantMessage(subject: "mesgate.holds.PLANT-B", headers: headers, body: body)
        do {
            _ = try EnterpriseHoldMessage(message)
            Issue.record("read a message it should refuse")
        } catch {
            #expect(error.description.contains(reason), "\(error)")
        }
    }
}
