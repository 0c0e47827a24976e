import EPCIS

extension LotExporter {
    /// The CBV 2.0 event hash id of an event's JSON (target `EPCIS`).
    public static let cbvHashID: EventHashFunction = { json, namespaces in
        try CBVEventHash.hashID(ofEvent: json, namespaces: namespaces)
    }
}
