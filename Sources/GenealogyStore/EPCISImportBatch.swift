import MESDomain

/// A whole imported document to store all-or-nothing: its MES events and the document itself
/// (`epcis_imports`).
public struct EPCISImportBatch: Sendable {
    public var requests: [IngestRequest]
    /// Hex SHA-256 of `raw`.
    public var documentSHA256: String
    /// Who sent it.
    public var client: String
    /// The document as received.
    public var raw: [UInt8]
    /// How many EPCIS events the document has.
    public var epcisEvents: Int
    /// The EPCIS events the document declares in error: the stored MES events `<baseID>#…` are
    /// voided (after the document's own events are stored, so a declaration may name an event of
    /// the same document), linked to the first stored event of a corrective event.
    public var declarations: [Declaration] = []
    /// Turns stored event bytes into the event (what a void takes back depends on it).
    public var decode: @Sendable ([UInt8]) -> Event? = { _ in nil }

    public struct Declaration: Sendable, Hashable {
        public var baseID: String
        public var reason: String
        public var correctiveBaseIDs: [String]

        public init(baseID: String, reason: String, correctiveBaseIDs: [String]) {
            self.baseID = baseID
            self.reason = reason
            self.correctiveBaseIDs = correctiveBaseIDs
        }
    }

    public init(requests: [IngestRequest], documentSHA256: String, client: String, raw: [UInt8], epcisEvents: Int) {
        self.requests = requests
        self.documentSHA256 = documentSHA256
        self.client = client
        self.raw = raw
        self.epcisEvents = epcisEvents
    }
}

/// What became of an imported document.
public enum EPCISImportOutcome: Sendable, Hashable {
    /// Committed: one outcome per request (`accepted` or `duplicate`), and the `epcis_imports`
    /// row (nil when the same document was imported before).
    case stored(events: [IngestOutcome], importID: Int64?, voided: Int = 0)
    /// The store refused request `index` (e.g. shipping a held lot): nothing was stored.
    case refused(index: Int, reason: String)
    /// Not stored (queue full, store closed, commit failed).
    case failed(GenealogyStoreError)
}
