public import GenealogyStore
public import MESDomain
import MESMessages

/// What one plant record looks like on JetStream, and back.
///
/// An event is its `mes.v1.Event` bytes as the plant stored them; a hold or release is a
/// `mes.v1.HoldRequest` (lot, reason, propagate); a correction is its reason (UTF-8). The headers say
/// the rest: which plant and store, what record, the plant's sequence and when and by whom it was
/// stored (a correction: the corrected event's and its replacement's sequences). The message id is
/// `<plant>-<sequence>` for an event, `<plant>-hold-<id>` / `<plant>-release-<id>` for a hold and
/// `<plant>-correction-<id>` for a correction, so a record published twice is the same message.
public struct PlantMessage: Sendable, Hashable {
    public var subject: String
    public var headers: [String: String]
    public var body: [UInt8]

    public init(subject: String, headers: [String: String], body: [UInt8]) {
        self.subject = subject
        self.headers = headers
        self.body = body
    }

    /// Header names (NATS headers are case-sensitive as sent).
    public enum Header {
        public static let messageID = "Nats-Msg-Id"
        public static let plant = "Mesgate-Plant"
        public static let store = "Mesgate-Store"
        public static let record = "Mesgate-Record"
        public static let sequence = "Mesgate-Sequence"
        public static let kind = "Mesgate-Kind"
        public static let eventID = "Mesgate-Event-Id"
        public static let recordedAtMs = "Mesgate-Recorded-At-Ms"
        public static let client = "Mesgate-Client"
        public static let holdID = "Mesgate-Hold-Id"
        public static let by = "Mesgate-By"
        public static let atMs = "Mesgate-At-Ms"
        public static let correctionID = "Mesgate-Correction-Id"
        /// A correction's replacement, by its sequence in the plant's store (absent for a void).
        public static let replacementSequence = "Mesgate-Replacement-Sequence"
        /// Where in the plant store's log the message stands (`<audit id>/<event sequence>`): a
        /// replicator that lost its acks resumes after the stream's last message.
        public static let position = "Mesgate-Log-Position"
    }

    /// `Mesgate-Record` values.
    public enum Record {
        public static let event = "event"
        public static let holdPlaced = "hold-placed"
        public static let holdReleased = "hold-released"
        public static let correction = "correction"
    }

    /// The message for one record of `plant`'s store `storeID`.
    public init(_ record: ReplicationRecord, plant: PlantName, storeID: String, position: ReplicationCursor? = nil) {
        var headers = [Header.plant: plant.name, Header.store: storeID]
        if let position { headers[Header.position] = position.header }
        switch record.change {
        case .event(let event):
            headers[Header.messageID] = "\(plant.name)-\(event.sequence)"
            headers[Header.record] = Record.event
            headers[Header.sequence] = "\(event.sequence)"
            headers[Header.kind] = event.kind
            headers[Header.eventID] = event.eventID
            headers[Header.recordedAtMs] = "\(event.recordedAtMs)"
            headers[Header.client] = event.client
            self.init(subject: plant.eventSubject, headers: headers, body: event.raw)
        case .holdPlaced(let hold):
            headers[Header.messageID] = "\(plant.name)-hold-\(hold.id)"
            headers[Header.record] = Record.holdPlaced
            headers[Header.holdID] = "\(hold.id)"
            headers[Header.by] = hold.placedBy
            headers[Header.atMs] = "\(hold.placedAtMs)"
            let request = HoldRequest(lot: hold.root, reason: hold.reason, propagate: hold.propagate)
            self.init(subject: plant.holdSubject, headers: headers, body: HoldCodec.encodeRequest(request))
        case .holdReleased(let hold):
            headers[Header.messageID] = "\(plant.name)-release-\(hold.id)"
            headers[Header.record] = Record.holdReleased
            headers[Header.holdID] = "\(hold.id)"
            headers[Header.by] = hold.releasedBy
            headers[Header.atMs] = "\(hold.releasedAtMs ?? 0)"
            let request = HoldRequest(lot: hold.root, reason: hold.releaseReason, propagate: hold.propagate)
            self.init(subject: plant.holdSubject, headers: headers, body: HoldCodec.encodeRequest(request))
        case .correction(let correction):
            headers[Header.messageID] = "\(plant.name)-correction-\(correction.id)"
            headers[Header.record] = Record.correction
            headers[Header.correctionID] = "\(correction.id)"
            headers[Header.sequence] = "\(correction.sequence)"
            if let replacement = correction.replacementSequence {
                headers[Header.replacementSequence] = "\(replacement)"
            }
            headers[Header.by] = correction.by
            headers[Header.atMs] = "\(correction.atMs)"
            self.init(subject: plant.correctionSubject, headers: headers, body: Array(correction.reason.utf8))
        }
    }

    /// What the hub applies.
    public enum Change: Sendable {
        /// A plant's stored event, ready for the hub's writer (`IngestRequest.origin` set).
        case event(IngestRequest)
        case holdPlaced(PlantHold)
        case holdReleased(PlantHold)
        /// A correction by the plant's ids and sequences (the plant is the message's).
        case correction(ReplicatedCorrection)
    }

    /// Reads a message a plant published; throws, saying what is wrong, for one the hub cannot apply.
    public func change() throws(PlantMessageError) -> (plant: String, storeID: String, change: Change) {
        let plant = try header(Header.plant)
        let storeID = try header(Header.store)
        switch try header(Header.record) {
        case Record.event:
            let sequence = try number(Header.sequence)
            let recordedAtMs = try number(Header.recordedAtMs)
            let event: Event
            do {
                event = try body.withUnsafeBytes { bytes throws(MessageDecodingError) in try EventCodec.decode(bytes) }
            } catch {
                throw PlantMessageError("the body is not a mes.v1.Event: \(error)")
            }
            let request = IngestRequest(
                event: event, raw: body, client: headers[Header.client] ?? "",
                origin: EventOrigin(plant: plant, sequence: sequence, recordedAtMs: recordedAtMs))
            return (plant, storeID, .event(request))
        case let record where record == Record.holdPlaced || record == Record.holdReleased:
            let request: HoldRequest
            do {
                request = try body.withUnsafeBytes { bytes throws(MessageDecodingError) in
                    try HoldCodec.decodeRequest(bytes)
                }
            } catch {
                throw PlantMessageError("the body is not a mes.v1.HoldRequest: \(error)")
            }
            let hold = PlantHold(
                plant: plant, id: try number(Header.holdID), request: request, by: headers[Header.by] ?? "",
                atMs: try number(Header.atMs))
            return (plant, storeID, record == Record.holdPlaced ? .holdPlaced(hold) : .holdReleased(hold))
        case Record.correction:
            let replacement: Int64? =
                headers[Header.replacementSequence] == nil ? nil : try number(Header.replacementSequence)
            guard let reason = String(validating: body, as: UTF8.self), !reason.isEmpty else {
                throw PlantMessageError("the body is not a correction's reason (UTF-8 text)")
            }
            let correction = ReplicatedCorrection(
                id: try number(Header.correctionID), sequence: try number(Header.sequence),
                replacementSequence: replacement, reason: reason, by: headers[Header.by] ?? "",
                atMs: try number(Header.atMs))
            return (plant, storeID, .correction(correction))
        case let other:
            throw PlantMessageError("\(Header.record) \"\(other)\" is not a record this hub knows")
        }
    }

    private func header(_ name: String) throws(PlantMessageError) -> String {
        guard let value = headers[name], !value.isEmpty else { throw PlantMessageError("no \(name) header") }
        return value
    }

    private func number(_ name: String) throws(PlantMessageError) -> Int64 {
        let text = try header(name)
        guard let value = Int64(text) else { throw PlantMessageError("\(name) \"\(text)\" is not a number") }
        return value
    }
}

/// A hold placed or released at a plant, as the hub receives it.
public struct PlantHold: Sendable, Hashable {
    public var plant: String
    /// The hold's id in the plant's store.
    public var id: Int64
    public var request: HoldRequest
    public var by: String
    public var atMs: Int64
}

/// Why the hub cannot apply a message (it goes to the dead letters with this reason).
public struct PlantMessageError: Error, Hashable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// A plant's name as replication uses it: in subjects and stream names, so letters, digits, `-`
/// and `_` only (1–64 of them).
public struct PlantName: Sendable, Hashable, CustomStringConvertible {
    public let name: String

    public init(_ name: String) throws(PlantMessageError) {
        let allowed = name.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D
                || $0 == 0x5F
        }
        guard (1...64).contains(name.utf8.count), allowed else {
            throw PlantMessageError(
                "plant name \"\(name)\" must be 1-64 letters, digits, '-' or '_' (it names a JetStream stream)")
        }
        self.name = name
    }

    public var description: String { name }

    /// The plant's JetStream stream.
    public var stream: String { Self.streamPrefix + name }
    static let streamPrefix = "MESGATE_PLANT_"
    /// Every subject of the plant's stream.
    public var subjects: String { "mesgate.plant.\(name).>" }
    public var eventSubject: String { "mesgate.plant.\(name).event" }
    public var holdSubject: String { "mesgate.plant.\(name).hold" }
    public var correctionSubject: String { "mesgate.plant.\(name).correction" }
}
