import Dispatch
import Foundation
import GenealogyStore
import MESDomain
import Synchronization

/// The CBV 2.0 event hash id of one EPCIS event's JSON (without `eventID`), given the namespace
/// prefixes of the document's `@context`: `ni:///sha-256;…?ver=CBV2.0`.
public typealias EventHashFunction = @Sendable (_ eventJSON: [UInt8], _ namespaces: [String: String]) throws -> String

/// Writes an EPCIS 2.0 JSON-LD `EPCISDocument` (see `EPCISEvents` for the mapping of each event).
public struct EPCISWriter: Sendable {
    /// The EPCIS 2.0 context every document names first.
    public static let context = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
    /// The prefix of mesgate's extension fields (`mesgate:operator`, …) and its IRI.
    public static let namespaces = ["mesgate": "urn:mesgate:ext:"]

    let hashID: EventHashFunction

    public init(hashID: @escaping EventHashFunction) { self.hashID = hashID }

    /// The document, UTF-8 JSON. Throws what the hash function throws.
    public func document(_ content: ExportContent) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(content.events.count * 900 + 4096)
        let header: [(String, JSON)] = [
            (
                "@context",
                .array([.string(Self.context), .object(Self.namespaces.map { ($0.key, .string($0.value)) })])
            ),
            ("type", .string("EPCISDocument")),
            ("schemaVersion", .string("2.0")),
            ("creationDate", .string(LocalTime.utc.iso(content.createdAtMs))),
            ("mesgate:lot", .string(LotURI.item(content.start))),
            ("mesgate:direction", .string(content.direction == .unspecified ? "both" : content.directionWord)),
            ("mesgate:truncated", .bool(content.truncated)),
            ("mesgate:undecodableEvents", .integer(Int64(content.undecodable.count))),
        ]
        // The header members, then the event list written one event at a time.
        var head = JSON.object(header).bytes
        head.removeLast()  // "}"
        out += head
        out += Array(#","epcisBody":{"eventList":["#.utf8)
        let listed = EPCISEvents.events(content)
        let bodies = listed.map { JSON.object($0.members).bytes }
        let ids = try Self.hashIDs(bodies, hashID)
        // A replacement's EPCIS id, for the errorDeclaration of the event it replaces.
        var idOfReplacement: [String: String] = [:]
        for (i, item) in listed.enumerated() where !(item.stored?.corrects.isEmpty ?? true) {
            if let stored = item.stored { idOfReplacement[stored.eventID] = ids[i] }
        }
        for (i, body) in bodies.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            // {"eventID":"<hash>", …members}: the hash is taken over the event without eventID
            // (and without errorDeclaration: CBV 2.0 leaves it out of the hash).
            out += Array(#"{"eventID":"#.utf8)
            JSON.writeString(ids[i], into: &out)
            if let mark = listed[i].stored?.correction {
                out += Array(#","errorDeclaration":"#.utf8)
                out +=
                    EPCISEvents.errorDeclaration(
                        mark, correctiveEventID: mark.isVoid ? nil : idOfReplacement[mark.replacementEventID]
                    ).bytes
            }
            if body.count > 2 { out.append(UInt8(ascii: ",")) }
            out += body[1...]
        }
        out += Array("]}}\n".utf8)
        return out
    }

    /// The hash ids of `bodies`, in order, computed on every core for big documents (the hash
    /// costs far more than writing the JSON). Throws the first error of any worker.
    static func hashIDs(_ bodies: [[UInt8]], _ hashID: EventHashFunction) throws -> [String] {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, bodies.count / 512))
        let size = (bodies.count + workers - 1) / max(1, workers)
        let parts = Mutex<[Int: Result<[String], any Error>]>([:])
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let slice = bodies[min(bodies.count, worker * size)..<min(bodies.count, (worker + 1) * size)]
            let part = Result { () throws -> [String] in try slice.map { try hashID($0, Self.namespaces) } }
            parts.withLock { $0[worker] = part }
        }
        var ids: [String] = []
        ids.reserveCapacity(bodies.count)
        for worker in 0..<workers {
            guard let part = parts.withLock({ $0[worker] }) else { continue }
            ids += try part.get()
        }
        return ids
    }
}

extension ExportContent {
    var directionWord: String { direction == .backward ? "backward" : "forward" }
}
