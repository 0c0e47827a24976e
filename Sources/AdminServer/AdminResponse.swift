public import NIOHTTP1

/// One answer of the admin listener.
public struct AdminResponse: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: [UInt8]
    /// Headers beyond content type, length, caching and connection.
    public var extraHeaders: [(String, String)] = []

    public init(status: HTTPResponseStatus = .ok, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public static func text(_ text: String, status: HTTPResponseStatus = .ok) -> AdminResponse {
        AdminResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }
}

/// Answers the admin listener's GET requests by path (query string removed).
public protocol AdminRoutes: Sendable {
    func respond(to path: String) async -> AdminResponse
}
