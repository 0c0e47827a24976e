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
    case stored(events: [IngestOutcome], importID: Int64?)
    /// The store refused request `index` (e.g. shipping a held lot): nothing was stored.
    case refused(index: Int, reason: String)
    /// Not stored (queue full, store closed, commit failed).
    case failed(GenealogyStoreError)
}
