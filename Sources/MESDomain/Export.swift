/// A document format of `Genealogy.Export`.
public enum ExportFormat: Int32, Sendable, Hashable, CaseIterable {
    case unspecified = 0
    /// GS1 EPCIS 2.0 JSON-LD `EPCISDocument`.
    case epcisJSONLD = 1
    /// FDA FSMA 204 sortable spreadsheet of Key Data Elements (CSV, RFC 4180).
    case fsma204CSV = 2
    /// Graphviz DOT: the genealogy picture alone.
    case dot = 3
    /// A self-contained, printable HTML lot report.
    case html = 4
}

/// An export question: the lot, the direction (`unspecified`: both), the format.
public struct ExportRequest: Sendable, Hashable {
    public var lot: LotRef
    public var direction: TraceDirection
    public var format: ExportFormat

    public init(lot: LotRef, direction: TraceDirection, format: ExportFormat) {
        self.lot = lot
        self.direction = direction
        self.format = format
    }
}
