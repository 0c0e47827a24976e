import Foundation
public import GenealogyStore
public import Logging
public import MESDomain

/// A finished export document.
public struct ExportDocument: Sendable {
    public var bytes: [UInt8]
    /// The media type of `bytes`.
    public var contentType: String
    /// Lots, serials and containers the document covers.
    public var itemCount: Int
    /// Stored events it covers.
    public var eventCount: Int
    public var truncated: Bool
}

/// Turns a lot's traces and stored events into a document a regulator or trading partner reads
/// (EPCIS 2.0 JSON-LD, FSMA 204 CSV, HTML report, DOT). Blocking: runs SQLite and, for the HTML
/// picture, graphviz on the calling thread (never an event loop or the cooperative pool).
public struct LotExporter: Sendable {
    /// The node limit of each trace of an export.
    public static let maxNodes = 1_000_000

    let store: GenealogyStore
    let hashID: EventHashFunction
    let svg: @Sendable (String) throws -> [UInt8]
    let logger: Logger

    /// `hashID` gives the CBV 2.0 event hash ids of EPCIS events. `svg` turns DOT into SVG for the
    /// HTML report (default: graphviz's `dot`); when it throws, the report says why it has no
    /// picture and `logger` gets a warning.
    public init(
        store: GenealogyStore, hashID: @escaping EventHashFunction = LotExporter.cbvHashID,
        svg: @escaping @Sendable (String) throws -> [UInt8] = { try Graphviz.svg($0) },
        logger: Logger = Logger(label: "mesgate.export")
    ) {
        self.store = store
        self.hashID = hashID
        self.svg = svg
        self.logger = logger
    }

    /// Errors of an export.
    public enum Failure: Error, CustomStringConvertible {
        /// The format is FORMAT_UNSPECIFIED.
        case noFormat
        /// The store could not be read.
        case store(any Error)
        /// An EPCIS event could not be hashed.
        case hash(any Error)

        public var description: String {
            switch self {
            case .noFormat: "format: must be EPCIS_JSONLD, FSMA204_CSV, DOT or HTML"
            case .store(let error): "the store could not be read: \(error)"
            case .hash(let error): "an EPCIS event hash failed: \(error)"
            }
        }
    }

    /// The export, or nil when the store never saw the lot.
    public func export(_ request: ExportRequest, nowMs: Int64? = nil) throws(Failure) -> ExportDocument? {
        guard request.format != .unspecified else { throw .noFormat }
        let source: ExportSource?
        do {
            source = try store.exportSource(lot: request.lot, direction: request.direction, maxNodes: Self.maxNodes)
        } catch {
            throw .store(error)
        }
        guard let source else { return nil }
        let content = ExportContent(
            source: source, direction: request.direction,
            createdAtMs: nowMs ?? Int64(Date().timeIntervalSince1970 * 1000))
        return try render(content, format: request.format)
    }

    /// `content` in `format`.
    public func render(_ content: ExportContent, format: ExportFormat) throws(Failure) -> ExportDocument {
        let bytes: [UInt8]
        let type: String
        switch format {
        case .epcisJSONLD:
            do {
                bytes = try EPCISWriter(hashID: hashID).document(content)
            } catch {
                throw .hash(error)
            }
            type = "application/ld+json"
        case .fsma204CSV:
            bytes = FSMA204Writer.document(content)
            type = "text/csv; charset=utf-8; header=present"
        case .html:
            bytes = HTMLReport.document(content) { dot in
                do {
                    return try svg(dot)
                } catch {
                    logger.warning(
                        "export.picture.failed", metadata: ["lot": "\(content.start)", "error": "\(error)"])
                    throw error
                }
            }
            type = "text/html; charset=utf-8"
        case .dot:
            let picture = GenealogyPicture(
                results: [content.backward, content.forward].compactMap { $0 }, start: content.start,
                direction: content.direction)
            bytes = Array(picture.dot().utf8)
            type = "text/vnd.graphviz"
        case .unspecified:
            throw .noFormat
        }
        return ExportDocument(
            bytes: bytes, contentType: type, itemCount: content.items.count, eventCount: content.events.count,
            truncated: content.truncated)
    }
}
