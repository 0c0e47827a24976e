/// How a stored event was corrected: by whom, when, why, and its replacement ("" when voided).
public struct CorrectionMark: Sendable, Hashable {
    public var id: Int64
    public var reason: String
    public var by: String
    public var atMs: Int64
    public var replacementEventID: String

    public init(id: Int64, reason: String, by: String, atMs: Int64, replacementEventID: String) {
        self.id = id
        self.reason = reason
        self.by = by
        self.atMs = atMs
        self.replacementEventID = replacementEventID
    }

    public var isVoid: Bool { replacementEventID.isEmpty }
}
