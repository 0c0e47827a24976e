/// The CBV 2.0 vocabularies EPCIS 2.0 JSON-LD uses as bare words, and the IRIs the EPCIS 2.0
/// context (`epcis-context.jsonld`) expands them to. Generated from that context; the bare words
/// are also what import validation accepts as "a CBV bizStep" or "a CBV disposition".
public enum CBVVocabulary {
    /// Which vocabulary a value is taken from.
    public enum Kind: Sendable {
        case bizStep, disposition, sourceOrDestinationType, bizTransactionType, measurementType, sensorAlertType
        case component, errorReason
    }

    /// The prefixes the EPCIS 2.0 context declares.
    static let contextPrefixes: [String: String] = [
        "epcis": "https://ref.gs1.org/epcis/", "cbv": "https://ref.gs1.org/cbv/", "gs1": "https://gs1.org/voc/",
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "owl": "http://www.w3.org/2002/07/owl#",
        "xsd": "http://www.w3.org/2001/XMLSchema#", "dcterms": "http://purl.org/dc/terms/",
    ]

    /// The IRI of a bare word of a vocabulary, or nil when the word is not in it.
    public static func iri(ofTerm term: String, in kind: Kind) -> String? {
        guard let prefix = prefix(of: kind), terms(of: kind).contains(term) else { return nil }
        return prefix + term
    }

    /// The IRI prefix of a vocabulary's terms.
    public static func prefix(of kind: Kind) -> String? {
        switch kind {
        case .bizStep: "https://ref.gs1.org/cbv/BizStep-"
        case .disposition: "https://ref.gs1.org/cbv/Disp-"
        case .sourceOrDestinationType: "https://ref.gs1.org/cbv/SDT-"
        case .bizTransactionType: "https://ref.gs1.org/cbv/BTT-"
        case .measurementType, .sensorAlertType: "https://gs1.org/voc/"
        case .component: "https://ref.gs1.org/cbv/Comp-"
        case .errorReason: "https://ref.gs1.org/cbv/ER-"
        }
    }

    /// The bare words of a vocabulary.
    public static func terms(of kind: Kind) -> Set<String> {
        switch kind {
        case .bizStep: bizSteps
        case .disposition: dispositions
        case .sourceOrDestinationType: sourceOrDestinationTypes
        case .bizTransactionType: bizTransactionTypes
        case .measurementType: measurementTypes
        case .sensorAlertType: sensorAlertTypes
        case .component: components
        case .errorReason: errorReasons
        }
    }

    static let bizSteps: Set<String> = [
        "accepting", "arriving", "assembling", "collecting", "commissioning", "consigning",
        "creating_class_instance", "cycle_counting", "decommissioning", "departing", "destroying", "disassembling",
        "dispensing", "encoding", "entering_exiting", "holding", "inspecting", "installing", "killing", "loading",
        "other", "packing", "picking", "receiving", "removing", "repackaging", "repairing", "replacing",
        "reserving", "retail_selling", "sampling", "sensor_reporting", "shipping", "staging_outbound",
        "stock_taking", "stocking", "storing", "transporting", "unloading", "unpacking", "void_shipping",
    ]

    static let dispositions: Set<String> = [
        "active", "available", "completeness_verified", "completeness_inferred", "conformant", "container_closed",
        "container_open", "damaged", "destroyed", "dispensed", "disposed", "encoded", "expired", "in_progress",
        "in_transit", "inactive", "mismatch_instance", "mismatch_class", "mismatch_quantity", "needs_replacement",
        "no_pedigree_match", "non_conformant", "non_sellable_other", "partially_dispensed", "recalled", "reserved",
        "retail_sold", "returned", "sellable_accessible", "sellable_not_accessible", "stolen", "unavailable",
        "unknown",
    ]

    static let sourceOrDestinationTypes: Set<String> = [
        "owning_party", "possessing_party", "location",
    ]

    static let bizTransactionTypes: Set<String> = [
        "bol", "cert", "desadv", "inv", "pedigree", "po", "poc", "prodorder", "recadv", "rma", "testprd", "testres",
        "upevt",
    ]

    static let measurementTypes: Set<String> = [
        "AbsoluteHumidity", "AbsorbedDose", "AbsorbedDoseRate", "Acceleration", "Radioactivity", "Altitude",
        "AmountOfSubstance", "AmountOfSubstancePerUnitVolume", "Angle", "AngularAcceleration", "AngularMomentum",
        "AngularVelocity", "Area", "Capacitance", "Conductance", "Conductivity", "Count", "Density",
        "Dimensionless", "DoseEquivalent", "DoseEquivalentRate", "DynamicViscosity", "ElectricCharge",
        "ElectricCurrent", "ElectricCurrentDensity", "ElectricFieldStrength", "Energy", "Exposure", "Force",
        "Frequency", "Illuminance", "Inductance", "Irradiance", "KinematicViscosity", "Length", "LinearMomentum",
        "Luminance", "LuminousFlux", "LuminousIntensity", "MagneticFlux", "MagneticFluxDensity",
        "MagneticVectorPotential", "Mass", "MassConcentration", "MassFlowRate", "MassPerAreaTime", "MemoryCapacity",
        "MolalityOfSolute", "MolarEnergy", "MolarMass", "MolarVolume", "Power", "Pressure", "RadiantFlux",
        "RadiantIntensity", "RelativeHumidity", "Resistance", "Resistivity", "SolidAngle", "SpecificVolume",
        "Speed", "SurfaceDensity", "SurfaceTension", "Temperature", "Time", "Torque", "Voltage", "Volume",
        "VolumeFlowRate", "VolumeFraction", "VolumetricFlux", "Wavenumber",
    ]

    static let sensorAlertTypes: Set<String> = [
        "ALARM_CONDITION", "ERROR_CONDITION",
    ]

    static let components: Set<String> = [
        "x", "y", "z", "axial_distance", "azimuth", "height", "spherical_radius", "polar_angle", "elevation_angle",
        "easting", "northing", "latitude", "longitude", "altitude",
    ]

    static let errorReasons: Set<String> = [
        "did_not_occur", "incorrect_data",
    ]

}
