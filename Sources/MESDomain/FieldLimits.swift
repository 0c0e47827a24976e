/// The longest string and the most items any request message may carry, per field, so that one
/// message can neither store megabytes of text nor hold the ingest writer (and every other
/// client's acks) for long. Checked on the wire, before anything is stored; a field over its limit
/// is refused with INVALID_ARGUMENT (a REJECTED Ack on PublishStream) naming the field and the limit.
///
/// Fields are named as in the .proto, qualified by their message (`mes.v1.Packed.contents`).
public enum FieldLimits {
    /// Identifiers and names (product, lot, serial, container, plant, location, operator, order,
    /// supplier, customer, uom, check and measurement names): 256 bytes of UTF-8. GS1 keys are at
    /// most 80 characters, Odoo's lot and product names are `char` fields people type.
    public static let identifierBytes = 256
    /// Free text (a downtime, scrap or hold reason, a ship-to address): 4 KiB.
    public static let textBytes = 4_096
    /// `Packed.contents`: 1,000 items a Packed event may add to or take from a container (a pallet
    /// of cases or a case of serialized units is a few hundred; a bigger aggregation is several
    /// Packed ADD events). Storing one such event holds the single writer, and with it every other
    /// client's acks, for its whole transaction: bench/ingest/ack_gap.py measures how long.
    public static let packedContents = 1_000
    /// `QualityResult.measurements`: 500 measured characteristics of one check.
    public static let measurements = 500
    /// Any other repeated field of a request.
    public static let otherItems = 1_000

    /// The smallest string limit: strings no longer need no look-up.
    public static let smallestBytes = EventValidator.maxEventIDBytes
    /// The smallest item limit: lists no longer need no look-up.
    public static let smallestItems = measurements

    /// The most UTF-8 bytes a string field may hold.
    public static func maxBytes(message: String, field: String) -> Int {
        switch (message, field) {
        case ("mes.v1.Event", "event_id"): EventValidator.maxEventIDBytes
        case ("mes.v1.DowntimeReported", "reason"), ("mes.v1.Scrapped", "reason"), ("mes.v1.HoldRequest", "reason"),
            ("mes.v1.CorrectionRequest", "reason"),
            ("mes.v1.Shipped", "destination"):
            textBytes
        default: identifierBytes
        }
    }

    /// The most items a repeated field may hold.
    public static func maxItems(message: String, field: String) -> Int {
        switch (message, field) {
        case ("mes.v1.Packed", "contents"): packedContents
        case ("mes.v1.QualityResult", "measurements"): measurements
        default: otherItems
        }
    }
}
