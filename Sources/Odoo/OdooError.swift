/// A failed Odoo call, classified for the poster: retry later, give up (dead-letter), or pause
/// because the credentials no longer work.
public struct OdooError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// Transport failures, timeouts, 5xx, serialization failures and lock errors.
        case retryable
        /// ValidationError, UserError, AccessError, MissingError, bad arguments: Odoo refuses the data.
        case permanent
        /// AccessDenied, HTTP 401: the key expired or was revoked.
        case auth
    }

    public var kind: Kind
    /// Odoo's `error.data.name` (e.g. `odoo.exceptions.ValidationError`), or `transport`/`http`.
    public var name: String
    /// Odoo's message, or the transport's.
    public var message: String
    /// The HTTP status, 0 when there was no response.
    public var httpStatus: Int

    public init(_ kind: Kind, name: String, message: String, httpStatus: Int = 0) {
        self.kind = kind
        self.name = name
        self.message = message
        self.httpStatus = httpStatus
    }

    public var description: String {
        "\(kind.rawValue): \(name): \(message)" + (httpStatus != 0 ? " (HTTP \(httpStatus))" : "")
    }

    /// How an Odoo error is handled, from its exception name first and its HTTP status second.
    public static func classify(name: String, httpStatus: Int) -> Kind {
        if httpStatus == 401 || name.hasSuffix("AccessDenied") || name.hasSuffix(".Unauthorized") { return .auth }
        let transient = ["SerializationFailure", "LockNotAvailable", "TransactionRollbackError", "DeadlockDetected"]
        if transient.contains(where: { name.contains($0) }) { return .retryable }
        let refusals = [
            "ValidationError", "UserError", "AccessError", "MissingError", "RedirectWarning", "ValueError",
            "TypeError", "KeyError", "AttributeError", "NameError", "BadRequest", "NotFound",
        ]
        if refusals.contains(where: { name.hasSuffix($0) }) { return .permanent }
        if [400, 403, 404, 422].contains(httpStatus) { return .permanent }
        return .retryable
    }
}
