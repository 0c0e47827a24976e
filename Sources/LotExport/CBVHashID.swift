extension LotExporter {
    /// The CBV 2.0 event hash (target `EPCIS`, branch `epcis`): wired when that branch is merged.
    public static let cbvHashID: EventHashFunction = { _, _ in
        throw LotExporter.Failure.noFormat
    }
}
