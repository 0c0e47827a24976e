/// What an EPCIS document import stored (`mes.v1.ImportResult`).
public struct EPCISImportResult: Sendable, Hashable {
    /// EPCIS events in the document.
    public var events = 0
    /// MES events stored now.
    public var stored = 0
    /// MES events an earlier import stored already.
    public var duplicates = 0
    /// EPCIS events that carry nothing for the genealogy.
    public var notMapped = 0
    /// Distinct lots, serials and containers named.
    public var lots = 0
    public var receipts = 0
    public var transformations = 0
    public var shipments = 0
    public var scraps = 0
    public var packings = 0
    /// The `epcis_imports` row; 0 when the same document was stored before.
    public var importID: Int64 = 0
    /// Hex SHA-256 of the document.
    public var documentSHA256 = ""
    /// Stored events voided by the document's error declarations.
    public var voided = 0

    public init() {}
}
