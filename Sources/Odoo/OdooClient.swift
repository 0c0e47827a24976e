/// Odoo's external API: JSON-RPC (`/jsonrpc`, `object.execute_kw`) for Odoo 17 and 18, JSON-2
/// (`/json/2/<model>/<method>`, bearer key) for 19 and later, chosen from `GET /web/version`.
///
/// Not `Sendable`: owns one libcurl handle (one kept-alive connection) and runs on the thread that
/// calls it. Every call blocks that thread for at most the configured timeout.
public final class OdooClient {
    public let configuration: OdooConfiguration
    /// Odoo's major version, known after `connect()`.
    public private(set) var majorVersion: Int?
    /// HTTP requests sent so far (version probes and logins included).
    public private(set) var requestCount = 0
    private var uid: Int?
    private var nextID = 1
    private let curl: CurlEasy

    public init(configuration: OdooConfiguration) throws(OdooError) {
        self.configuration = configuration
        self.curl = try CurlEasy()
    }

    /// Whether calls go over JSON-2.
    public var usesJSON2: Bool { (majorVersion ?? 0) >= 19 }

    /// Reads the version (once) and, for JSON-RPC, logs in (once per session).
    public func connect() throws(OdooError) {
        if majorVersion == nil {
            let response = try send(path: "/web/version", body: nil, headers: [])
            guard response.status == 200, let info = JSONValue.decode(response.body)?["version_info"]?.array,
                let major = info.first?.int
            else {
                throw OdooError(
                    OdooError.classify(name: "http", httpStatus: response.status), name: "http",
                    message: "GET /web/version answered HTTP \(response.status), not Odoo's version",
                    httpStatus: response.status)
            }
            guard major >= 17 else {
                throw OdooError(.permanent, name: "version", message: "Odoo \(major) is not supported (17 or later)")
            }
            majorVersion = major
        }
        if !usesJSON2 && uid == nil {
            let result = try jsonRPC(
                service: "common", method: "authenticate",
                args: [
                    .string(configuration.database), .string(configuration.login), .string(configuration.apiKey),
                    [:],
                ])
            guard let id = result.int else {
                throw OdooError(.auth, name: "odoo.exceptions.AccessDenied", message: "Odoo refused the login")
            }
            uid = id
        }
    }

    /// Calls `model.method`. `ids` are the records a record method runs on; `named` are the
    /// method's arguments by name (`vals_list` for create, `vals` for write, `domain` for search,
    /// `fields`, `limit`, ...); `context` goes along.
    public func call(
        _ model: String, _ method: String, ids: [Int]? = nil, _ named: [String: JSONValue] = [:],
        context: [String: JSONValue] = [:]
    ) throws(OdooError) -> JSONValue {
        try connect()
        do {
            return usesJSON2
                ? try json2(model, method, ids: ids, named, context: context)
                : try executeKW(model, method, ids: ids, named, context: context)
        } catch let error where error.kind == .auth {
            uid = nil  // log in again next time
            throw error
        }
    }

    // MARK: Conveniences

    /// `search` with a domain; the record ids.
    public func search(_ model: String, _ domain: JSONValue, limit: Int? = nil) throws(OdooError) -> [Int] {
        var named: [String: JSONValue] = ["domain": domain]
        if let limit { named["limit"] = .int(limit) }
        return try call(model, "search", named).array?.compactMap(\.int) ?? []
    }

    /// `search_read`: the matching records with `fields`.
    public func searchRead(_ model: String, _ domain: JSONValue, fields: [String], limit: Int? = nil)
        throws(OdooError) -> [JSONValue]
    {
        var named: [String: JSONValue] = ["domain": domain, "fields": .array(fields.map { .string($0) })]
        if let limit { named["limit"] = .int(limit) }
        return try call(model, "search_read", named).array ?? []
    }

    /// `read` of `ids`.
    public func read(_ model: String, _ ids: [Int], fields: [String]) throws(OdooError) -> [JSONValue] {
        try call(model, "read", ids: ids, ["fields": .array(fields.map { .string($0) })]).array ?? []
    }

    /// `create` of one record; its id.
    public func create(_ model: String, _ vals: [String: JSONValue]) throws(OdooError) -> Int {
        let result = try call(model, "create", ["vals_list": [.object(vals)]])
        guard let id = result.array?.first?.int ?? result.int else {
            throw OdooError(.retryable, name: "protocol", message: "create on \(model) answered no id")
        }
        return id
    }

    /// `write` of `vals` on `ids`.
    public func write(_ model: String, _ ids: [Int], _ vals: [String: JSONValue]) throws(OdooError) {
        _ = try call(model, "write", ids: ids, ["vals": .object(vals)])
    }

    // MARK: Protocols

    private func executeKW(
        _ model: String, _ method: String, ids: [Int]?, _ named: [String: JSONValue], context: [String: JSONValue]
    ) throws(OdooError) -> JSONValue {
        var positional: [JSONValue] = []
        var kwargs = named
        if let ids { positional.append(.array(ids.map { .int($0) })) }
        for key in ["vals_list", "domain", "vals"] {
            if let value = kwargs.removeValue(forKey: key) { positional.append(value) }
        }
        if !context.isEmpty { kwargs["context"] = .object(context) }
        return try jsonRPC(
            service: "object", method: "execute_kw",
            args: [
                .string(configuration.database), .int(uid ?? 0), .string(configuration.apiKey), .string(model),
                .string(method), .array(positional), .object(kwargs),
            ])
    }

    private func jsonRPC(service: String, method: String, args: [JSONValue]) throws(OdooError) -> JSONValue {
        nextID += 1
        let request: JSONValue = [
            "jsonrpc": "2.0", "method": "call", "id": .int(nextID),
            "params": ["service": .string(service), "method": .string(method), "args": .array(args)],
        ]
        let ormMethod = service == "object" ? (args.count > 4 ? args[4].string ?? "" : "") : method
        let response = try send(
            path: "/jsonrpc", body: request.encoded(), headers: ["Content-Type: application/json"], method: ormMethod)
        guard response.status == 200, let answer = JSONValue.decode(response.body) else {
            throw httpError(response)
        }
        if let data = answer["error"] {
            let name = data["data"]?["name"]?.string ?? "odoo.error"
            let message = data["data"]?["message"]?.string ?? data["message"]?.string ?? "Odoo Server Error"
            throw OdooError(
                OdooError.classify(name: name, httpStatus: 200), name: name, message: message, httpStatus: 200)
        }
        return answer["result"] ?? .null
    }

    private func json2(
        _ model: String, _ method: String, ids: [Int]?, _ named: [String: JSONValue], context: [String: JSONValue]
    ) throws(OdooError) -> JSONValue {
        var body = named
        if let ids { body["ids"] = .array(ids.map { .int($0) }) }
        if !context.isEmpty { body["context"] = .object(context) }
        let headers = [
            "Content-Type: application/json", "Authorization: bearer \(configuration.apiKey)",
            "X-Odoo-Database: \(configuration.database)",
        ]
        let response = try send(
            path: "/json/2/\(model)/\(method)", body: JSONValue.object(body).encoded(), headers: headers, method: method
        )
        guard response.status == 200 else {
            if let answer = JSONValue.decode(response.body), let name = answer["name"]?.string {
                let message = answer["message"]?.string ?? ""
                throw OdooError(
                    OdooError.classify(name: name, httpStatus: response.status), name: name, message: message,
                    httpStatus: response.status)
            }
            throw httpError(response)
        }
        guard let answer = JSONValue.decode(response.body) else {
            throw OdooError(.retryable, name: "protocol", message: "JSON-2 answered something that is not JSON")
        }
        return answer
    }

    private func httpError(_ response: CurlEasy.Response) -> OdooError {
        OdooError(
            OdooError.classify(name: "http", httpStatus: response.status), name: "http",
            message: "Odoo answered HTTP \(response.status)", httpStatus: response.status)
    }

    /// Methods that change nothing, or set absolute values, and so may reach Odoo twice.
    static let repeatable: Set<String> = [
        "search", "search_read", "search_count", "read", "write", "fields_get", "authenticate", "version",
    ]

    private func send(path: String, body: [UInt8]?, headers: [String], method: String = "version")
        throws(OdooError) -> CurlEasy.Response
    {
        requestCount += 1
        return try curl.perform(
            url: configuration.url + path, headers: headers, body: body,
            connectTimeoutMs: configuration.connectTimeoutMs, timeoutMs: configuration.timeoutMs,
            verifyTLS: configuration.verifyTLS, maxResponseBytes: configuration.maxResponseBytes,
            freshConnection: !Self.repeatable.contains(method))
    }
}
