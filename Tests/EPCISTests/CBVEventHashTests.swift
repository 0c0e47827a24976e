import EPCIS
import Foundation
import Testing

/// The reference data shared by every checkout: `../shared/reference/epcis` beside the repository.
enum ReferenceData {
    static let epcis: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/reference/epcis")

    static func files(_ folder: String, suffix: String) -> [String] {
        let path = epcis.appendingPathComponent(folder).path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { $0.hasSuffix(suffix) }.sorted()
    }

    static func bytes(_ folder: String, _ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: epcis.appendingPathComponent(folder).appendingPathComponent(name)))
    }

    static func lines(_ folder: String, _ name: String) -> [String]? {
        guard let data = try? bytes(folder, name) else { return nil }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
    }
}

@Suite struct CBVEventHashTests {
    static let documents = ReferenceData.files("hash-vectors", suffix: ".jsonld")

    @Test func allVectorsArePresent() {
        #expect(Self.documents.count == 22)
        let ids = Self.documents.compactMap { ReferenceData.lines("hash-vectors", base($0) + ".hashes") }.joined()
        #expect(ids.count == 43)
    }

    @Test(arguments: documents)
    func idsMatchTheReference(document: String) throws {
        let bytes = try ReferenceData.bytes("hash-vectors", document)
        let expected = try #require(ReferenceData.lines("hash-vectors", base(document) + ".hashes"))
        #expect(try CBVEventHash.hashIDs(ofDocument: bytes) == expected)
        // Some .prehashes files are older than their .hashes (their strings hash to other ids):
        // compare the pre-hash strings that do belong to the expected ids.
        guard let preHashes = ReferenceData.lines("hash-vectors", base(document) + ".prehashes") else { return }
        let ours = try CBVEventHash.preHashes(ofDocument: bytes)
        for (index, line) in preHashes.enumerated() where index < expected.count {
            guard CBVEventHash.id(ofPreHash: line) == expected[index] else { continue }
            #expect(ours[index] == line, "event \(index)")
        }
    }

    @Test func oneEventWithNamespacesHashesLikeItsDocument() throws {
        let event = """
            {"type": "ObjectEvent", "eventTime": "2020-03-04T11:00:30.000+01:00", "eventTimeZoneOffset": "+01:00",
             "epcList": ["urn:epc:id:sscc:4012345.0000000111"], "action": "OBSERVE", "bizStep": "departing",
             "example:myField": "0"}
            """
        let preHash = try CBVEventHash.preHash(
            ofEvent: Array(event.utf8), namespaces: ["example": "https://ns.example.com/epcis/"])
        #expect(
            preHash
                == "eventType=ObjectEventeventTime=2020-03-04T10:00:30.000ZeventTimeZoneOffset=+01:00epcListepc="
                + "https://id.gs1.org/00/040123450000001112action=OBSERVEbizStep=https://ref.gs1.org/cbv/BizStep-departing"
                + "{https://ns.example.com/epcis/}myField=0")
        let id = try CBVEventHash.hashID(
            ofEvent: Array(event.utf8), namespaces: ["example": "https://ns.example.com/epcis/"])
        #expect(id.hasPrefix("ni:///sha-256;") && id.hasSuffix("?ver=CBV2.0") && id.count == 14 + 64 + 11)
    }

    @Test func malformedInputIsRefused() {
        #expect(throws: EPCISError.self) { try CBVEventHash.hashID(ofEvent: Array("[1]".utf8), namespaces: [:]) }
        #expect(throws: EPCISError.self) { try CBVEventHash.hashIDs(ofDocument: Array("{\"epcisBody\": ".utf8)) }
        #expect(throws: EPCISError.self) { try CBVEventHash.hashIDs(ofDocument: Array("{}".utf8)) }
    }

    private func base(_ name: String) -> String { String(name.dropLast(".jsonld".count)) }
}
