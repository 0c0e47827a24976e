internal import Configuration

/// The options of issue 7: tokens, TLS, the admin listener, the log format.
public struct SecuritySettings: Sendable {
    public enum LogFormat: String, Sendable { case text, json }

    public var tokensPath: String?
    public var tlsCertPath: String?
    public var tlsKeyPath: String?
    public var tlsClientCAPath: String?
    /// nil: no admin listener.
    public var adminListen: (host: String, port: Int)? = ("127.0.0.1", 9464)
    /// `token`: the admin listener's pages other than /healthz and /readyz need an admin token.
    public var adminAuthRequired = false
    public var logFormat = LogFormat.text

    public init() {}
}

extension ServeOptions {
    static let securityKeys: [String: ConfigFileCheck.ValueType] = [
        "tokens": .string, "tls-cert": .string, "tls-key": .string, "tls-client-ca": .string,
        "admin-listen": .string, "admin-auth": .string, "log-format": .string,
    ]

    func resolveSecurity(into settings: inout ServeSettings, _ reader: ConfigReader) throws(ConfigurationError) {
        var security = SecuritySettings()
        security.tokensPath = tokens ?? reader.string(forKey: "tokens")
        security.tlsCertPath = tlsCert ?? reader.string(forKey: "tls-cert")
        security.tlsKeyPath = tlsKey ?? reader.string(forKey: "tls-key")
        security.tlsClientCAPath = tlsClientCa ?? reader.string(forKey: "tls-client-ca")
        if (security.tlsCertPath == nil) != (security.tlsKeyPath == nil) {
            throw ConfigurationError("tls-cert and tls-key go together: give both or neither")
        }
        if security.tlsClientCAPath != nil && security.tlsCertPath == nil {
            throw ConfigurationError("tls-client-ca needs tls-cert and tls-key")
        }
        let admin = adminListen ?? reader.string(forKey: "admin-listen") ?? "127.0.0.1:9464"
        if admin == "off" {
            security.adminListen = nil
        } else {
            do {
                security.adminListen = try ServeSettings.parseListen(admin)
            } catch {
                throw ConfigurationError("admin-listen: \(error.description)")
            }
        }
        switch adminAuth ?? reader.string(forKey: "admin-auth") ?? "none" {
        case "none": security.adminAuthRequired = false
        case "token":
            guard security.tokensPath != nil else {
                throw ConfigurationError("admin-auth token needs a token file (--tokens) with an admin token")
            }
            security.adminAuthRequired = true
        case let other: throw ConfigurationError("admin-auth must be none or token, not \(other)")
        }
        let format = logFormat ?? reader.string(forKey: "log-format") ?? "text"
        guard let logFormat = SecuritySettings.LogFormat(rawValue: format) else {
            throw ConfigurationError("log-format must be json or text, not \(format)")
        }
        security.logFormat = logFormat
        settings.security = security
    }
}
