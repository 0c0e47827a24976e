/// The fixed field order of the CBV 2.0 pre-hash (`PROP_ORDER` of the reference implementation).
/// An entry without a name stands for the reference's (type, value) pair entries, which never
/// match a field, so those lists fall through to the unordered part.
struct PreHashOrder: Sendable {
    var name: String?
    var children: [PreHashOrder]?

    init(_ name: String?, _ children: [PreHashOrder]? = nil) {
        self.name = name
        self.children = children
    }

    private static let quantityElement = [
        PreHashOrder("quantityElement", [.init("epcClass"), .init("quantity"), .init("uom")])
    ]
    private static let epc = [PreHashOrder("epc")]
    private static let pair = [PreHashOrder(nil)]

    static let event: [PreHashOrder] = [
        .init("eventTime"), .init("eventTimeZoneOffset"), .init("certificationInfo"), .init("parentID"),
        .init("epcList", epc), .init("inputEPCList", epc), .init("childEPCs", epc),
        .init("quantityList", quantityElement), .init("childQuantityList", quantityElement),
        .init("inputQuantityList", quantityElement), .init("outputEPCList", epc),
        .init("outputQuantityList", quantityElement), .init("action"), .init("transformationID"),
        .init("bizStep"), .init("disposition"), .init("persistentDisposition", [.init("set"), .init("unset")]),
        .init("readPoint", [.init("id")]), .init("bizLocation", [.init("id")]),
        .init("bizTransactionList", pair), .init("sourceList", pair), .init("destinationList", pair),
        .init(
            "sensorElementList",
            [
                .init(
                    "sensorElement",
                    [
                        .init(
                            "sensorMetadata",
                            [
                                "time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
                                "dataProcessingMethod", "bizRules",
                            ].map { PreHashOrder($0) }),
                        .init(
                            "sensorReport",
                            [
                                "type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod",
                                "time", "microorganism", "chemicalSubstance", "value", "component", "stringValue",
                                "booleanValue", "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue",
                                "sDev", "percRank", "percValue", "uom", "coordinateReferenceSystem",
                            ].map { PreHashOrder($0) }),
                    ])
            ]),
    ]
}
