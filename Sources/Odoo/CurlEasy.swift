internal import CCurl

/// One libcurl easy handle: the only code touching libcurl. Reusing the handle keeps the
/// connection alive between requests (HTTP/1.1 keep-alive, TLS session reuse).
///
/// Not `Sendable`: confined to the thread that made it (the poster's thread, or a CLI command).
/// Freed (`curl_easy_cleanup`) in `deinit`.
final class CurlEasy {
    /// An HTTP answer: status and body.
    struct Response {
        var status: Int
        var body: [UInt8]
    }

    private let handle: UnsafeMutableRawPointer
    /// Collects the body of the response being received; the write callback appends to it.
    private final class Sink {
        var bytes: [UInt8] = []
        let limit: Int
        /// The answer went over `limit`: the write callback refused it (curl: CURLE_WRITE_ERROR).
        var overflowed = false
        init(limit: Int) { self.limit = limit }
    }

    private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_ALL))

    init() throws(OdooError) {
        guard Self.globalInit == CURLE_OK, let handle = curl_easy_init() else {
            throw OdooError(.retryable, name: "transport", message: "libcurl could not be initialised")
        }
        self.handle = handle
    }

    deinit { curl_easy_cleanup(handle) }

    /// Sends one request and waits for the whole answer, on the calling thread.
    /// - Parameters: `body` nil for GET; `timeoutMs` bounds the whole exchange; an answer body over
    ///   `maxResponseBytes` fails the call (retryable) as soon as it is seen; `freshConnection`
    ///   for a request that must not be sent twice: libcurl silently resends a request whose
    ///   reused keep-alive connection closed before any answer, which after "Odoo committed, then
    ///   the connection reset" would make a second record. On a new connection it never does.
    func perform(
        url: String, headers: [String], body: [UInt8]?, connectTimeoutMs: Int, timeoutMs: Int, verifyTLS: Bool,
        maxResponseBytes: Int = OdooConfiguration.defaultMaxResponseBytes, freshConnection: Bool = false
    ) throws(OdooError) -> Response {
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }
        let sink = Sink(limit: maxResponseBytes)
        let code: CURLcode = withExtendedLifetime(sink) {
            let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
            set(CURLOPT_URL, url)
            set(CURLOPT_NOSIGNAL, 1)  // no SIGALRM for timeouts: we run on our own thread
            set(CURLOPT_TCP_KEEPALIVE, 1)
            set(CURLOPT_FRESH_CONNECT, freshConnection ? 1 : 0)
            set(CURLOPT_CONNECTTIMEOUT_MS, connectTimeoutMs)
            set(CURLOPT_TIMEOUT_MS, timeoutMs)
            set(CURLOPT_SSL_VERIFYPEER, verifyTLS ? 1 : 0)
            set(CURLOPT_SSL_VERIFYHOST, verifyTLS ? 2 : 0)
            _ = CCurl_curl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, list)
            _ = CCurl_curl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, sinkPointer)
            _ = CCurl_curl_easy_setopt_write_callback(handle) { data, size, count, user in
                guard let data, let user else { return 0 }
                let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
                let n = size * count
                guard sink.bytes.count + n <= sink.limit else {
                    sink.overflowed = true
                    return 0  // fewer bytes than given: curl stops with CURLE_WRITE_ERROR
                }
                data.withMemoryRebound(to: UInt8.self, capacity: n) {
                    sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: n))
                }
                return n
            }
            guard let body else {
                set(CURLOPT_HTTPGET, 1)
                return curl_easy_perform(handle)
            }
            return body.withUnsafeBytes { bytes in
                set(CURLOPT_POST, 1)
                set(CURLOPT_POSTFIELDSIZE, bytes.count)
                _ = CCurl_curl_easy_setopt_pointer(
                    handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                let code = curl_easy_perform(handle)
                // The body's memory ends here: curl must not keep a pointer to it.
                _ = CCurl_curl_easy_setopt_pointer(handle, CURLOPT_POSTFIELDS, nil)
                return code
            }
        }
        if sink.overflowed {
            throw OdooError(
                .retryable, name: "transport",
                message: "Odoo's answer is longer than \(maxResponseBytes) bytes (maxResponseBytes); not read")
        }
        guard code == CURLE_OK else {
            let text = String(cString: curl_easy_strerror(code))
            throw OdooError(.retryable, name: "transport", message: "\(text) (curl \(code.rawValue))")
        }
        var status = 0
        _ = CCurl_curl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return Response(status: status, body: sink.bytes)
    }

    // CURLE_OK for every option used here with a valid handle; an unknown option would be a bug.
    private func set(_ option: CURLoption, _ value: Int) { _ = CCurl_curl_easy_setopt_long(handle, option, value) }
    private func set(_ option: CURLoption, _ value: String) { _ = CCurl_curl_easy_setopt_string(handle, option, value) }
}
