/// What a token may do (DESIGN.md, Security model). `admin` may call everything.
public enum Role: String, Sendable, CaseIterable {
    /// MES clients: publish events, follow work orders, master data and exceptions.
    case mes
    /// Quality teams: trace lots, place and release holds, follow, acknowledge and close exceptions.
    case quality
    /// Compliance auditors: trace, lot histories, exports.
    case auditor
    /// Integration administrators: every method.
    case admin
}

/// Which roles may call a method, by its path.
public enum AccessPolicy {
    /// What a call to `path` needs.
    public enum Requirement: Sendable, Equatable {
        /// Anyone, with or without a token (health, reflection).
        case open
        /// A valid token whose role is one of these (admin always qualifies).
        case roles(Set<Role>)

        /// Whether a token with `role` meets the requirement.
        public func admits(_ role: Role) -> Bool {
            switch self {
            case .open: true
            case .roles(let roles): role == .admin || roles.contains(role)
            }
        }
    }

    /// The requirement for `path` ("/package.Service/Method"). A method this table does not name
    /// needs `admin`: a new method is closed until someone decides who may call it.
    public static func requirement(for path: String) -> Requirement {
        let service = path.split(separator: "/").first.map(String.init) ?? ""
        switch service {
        case "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection":
            return .open
        case "mes.v1.EventIngest", "mes.v1.WorkOrders":
            return .roles([.mes])
        case "mes.v1.Quality":
            return .roles([.quality])
        case "mes.v1.MasterData":
            // The plant executes against it; quality reads products and BoMs when tracing.
            return .roles([.mes, .quality])
        default:
            break
        }
        switch path {
        case "/mes.v1.Genealogy/Trace": return .roles([.quality, .auditor])
        case "/mes.v1.Genealogy/LotHistory", "/mes.v1.Genealogy/Export": return .roles([.auditor])
        // Andon screens and MES clients follow exceptions; quality people act on them.
        case "/mes.v1.Exceptions/Subscribe", "/mes.v1.Exceptions/List": return .roles([.mes, .quality])
        case "/mes.v1.Exceptions/Acknowledge", "/mes.v1.Exceptions/Close": return .roles([.quality])
        default: return .roles([])
        }
    }

    /// Whether `role` may call `path`.
    public static func allows(_ role: Role, _ path: String) -> Bool {
        requirement(for: path).admits(role)
    }
}
