public import MESDomain
import MESMessages

/// A hold placed (or released) at the hub, as one plant receives it on its holds stream
/// (`MESGATE_HOLDS_<plant>`, subject `mesgate.holds.<plant>`).
///
/// The body is the lots it holds at that plant, each a length-prefixed `mes.v1.HoldRequest`
/// (4 bytes big-endian, then the message; the reason and propagation are the hub's); a release has
/// none. The headers carry the hub's hold id, who and when. The message id is
/// `hub-hold-<id>-<plant>` / `hub-release-<id>-<plant>`, so a fan-out sent twice is one message.
public struct EnterpriseHoldMessage: Sendable, Hashable {
    public var hubHoldID: Int64
    public var isRelease: Bool
    /// The lots the hold covers at this plant (empty for a release).
    public var lots: [LotRef]
    public var reason: String
    public var by: String
    public var atMs: Int64

    public init(hubHoldID: Int64, isRelease: Bool, lots: [LotRef], reason: String, by: String, atMs: Int64) {
        self.hubHoldID = hubHoldID
        self.isRelease = isRelease
        self.lots = lots
        self.reason = reason
        self.by = by
        self.atMs = atMs
    }

    enum Record {
        static let placed = "enterprise-hold"
        static let released = "enterprise-release"
    }

    /// The message for `plant`.
    public func message(for plant: PlantName) -> PlantMessage {
        var body: [UInt8] = []
        for lot in lots {
            let request = HoldCodec.encodeRequest(HoldRequest(lot: lot, reason: reason, propagate: true))
            let count = UInt32(request.count)
            body += [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
            body += request
        }
        let headers = [
            PlantMessage.Header.messageID: "hub-\(isRelease ? "release" : "hold")-\(hubHoldID)-\(plant.name)",
            PlantMessage.Header.record: isRelease ? Record.released : Record.placed,
            PlantMessage.Header.holdID: "\(hubHoldID)",
            PlantMessage.Header.by: by,
            PlantMessage.Header.atMs: "\(atMs)",
            Self.reasonHeader: reason,
        ]
        return PlantMessage(subject: plant.holdsSubject, headers: headers, body: body)
    }

    static let reasonHeader = "Mesgate-Reason"

    /// Reads a message from the hub; throws, saying what is wrong, for one the plant cannot apply.
    public init(_ message: PlantMessage) throws(PlantMessageError) {
        let record = message.headers[PlantMessage.Header.record] ?? ""
        guard record == Record.placed || record == Record.released else {
            throw PlantMessageError("\(PlantMessage.Header.record) \"\(record)\" is not an enterprise hold")
        }
        guard let id = message.headers[PlantMessage.Header.holdID].flatMap({ Int64($0) }) else {
            throw PlantMessageError("no hold id")
        }
        var lots: [LotRef] = []
        var offset = 0
        let body = message.body
        while offset < body.count {
            guard offset + 4 <= body.count else { throw PlantMessageError("a lot is cut short") }
            let length =
                Int(body[offset]) << 24 | Int(body[offset + 1]) << 16 | Int(body[offset + 2]) << 8
                | Int(body[offset + 3])
            offset += 4
            guard length <= body.count - offset else { throw PlantMessageError("a lot is cut short") }
            do {
                let request = try body[offset..<offset + length].withUnsafeBytes { bytes throws(MessageDecodingError) in
                    try HoldCodec.decodeRequest(bytes)
                }
                lots.append(request.lot)
            } catch {
                throw PlantMessageError("a lot is not a mes.v1.HoldRequest: \(error)")
            }
            offset += length
        }
        self.init(
            hubHoldID: id, isRelease: record == Record.released, lots: lots,
            reason: message.headers[Self.reasonHeader] ?? "", by: message.headers[PlantMessage.Header.by] ?? "",
            atMs: message.headers[PlantMessage.Header.atMs].flatMap { Int64($0) } ?? 0)
    }
}

extension PlantName {
    /// The stream on the hub's JetStream of the holds the hub sends this plant.
    public var holdsStream: String { "MESGATE_HOLDS_\(name)" }
    public var holdsSubject: String { "mesgate.holds.\(name)" }
}
