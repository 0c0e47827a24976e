import CNATS
import Foundation

/// A failed libnats call: its status, the status's text, libnats' detail for the calling thread
/// (`nats_GetLastError`) and the JetStream error code when the server gave one.
public struct NATSError: Error, Hashable, CustomStringConvertible {
    public var status: UInt32
    public var text: String
    public var detail: String
    public var jetStreamCode: Int32
    public var isNotFound: Bool { status == NATS_NOT_FOUND.rawValue }
    public var isTimeout: Bool { status == NATS_TIMEOUT.rawValue }
    /// JetStream answered that the stream does not exist (error 10059).
    public var isStreamNotFound: Bool { jetStreamCode == 10059 || (isNotFound && jetStreamCode == 0) }

    init(_ what: String, _ status: natsStatus, jetStreamCode: jsErrCode = jsErrCode(rawValue: 0)) {
        self.status = status.rawValue
        self.text = "\(what): \(String(cString: natsStatus_GetText(status)))"
        var last = NATS_OK
        self.detail = nats_GetLastError(&last).map { String(cString: $0) } ?? ""
        self.jetStreamCode = Int32(bitPattern: jetStreamCode.rawValue)
    }

    public var description: String {
        var out = text
        if !detail.isEmpty && !text.hasSuffix(detail) { out += " (\(detail))" }
        if jetStreamCode != 0 { out += " [JetStream error \(jetStreamCode)]" }
        return out
    }
}

/// One connection to NATS, the only code (with `JetStream`) that touches libnats' pointers.
///
/// It reconnects forever (every `reconnectWaitMs`), pings every `pingIntervalMs` and gives a
/// silent link up after `maxPingsOut` unanswered pings, so a cut WAN is noticed in seconds, not
/// minutes; a start while no server answers is retried in the background. Every call blocks the
/// calling thread: use it from a thread of its own, never from Swift's cooperative pool or an
/// event loop. Not `Sendable`: confined to that thread.
public final class NATSConnection {
    let handle: OpaquePointer
    /// Objects libnats callbacks may still reach until the connection is destroyed.
    private var callbackTargets: [AnyObject] = []

    public struct Options: Sendable {
        public var name = "mesgate"
        public var timeoutMs: Int64 = 2000
        public var reconnectWaitMs: Int64 = 1000
        public var pingIntervalMs: Int64 = 5000
        public var maxPingsOut: Int32 = 3
        public init() {}
    }

    /// Connects to the first of `servers` (`nats://HOST:PORT`) that answers; when none does, keeps
    /// trying in the background and returns (`isConnected` says which).
    public init(servers: [String], options: Options = Options()) throws(NATSError) {
        var opts: OpaquePointer?
        var status = natsOptions_Create(&opts)
        guard status == NATS_OK, let opts else { throw NATSError("cannot make NATS options", status) }
        defer { natsOptions_Destroy(opts) }
        let urls = servers.map { strdup($0) }
        defer { urls.forEach { free($0) } }
        var pointers = urls.map { UnsafePointer<CChar>($0) }
        status = pointers.withUnsafeMutableBufferPointer {
            natsOptions_SetServers(opts, $0.baseAddress, Int32($0.count))
        }
        guard status == NATS_OK else { throw NATSError("bad NATS server list \(servers)", status) }
        natsOptions_SetName(opts, options.name)
        natsOptions_SetTimeout(opts, options.timeoutMs)
        natsOptions_SetMaxReconnect(opts, -1)
        natsOptions_SetReconnectWait(opts, options.reconnectWaitMs)
        natsOptions_SetPingInterval(opts, options.pingIntervalMs)
        natsOptions_SetMaxPingsOut(opts, options.maxPingsOut)
        // Without a connected callback, libnats' Connect would block until a server answers.
        natsOptions_SetRetryOnFailedConnect(opts, true, { _, _ in }, nil)
        var connection: OpaquePointer?
        status = natsConnection_Connect(&connection, opts)
        // With retry-on-failed-connect, "not yet connected" is a connection that keeps trying.
        guard status == NATS_OK || status == NATS_NOT_YET_CONNECTED, let connection else {
            throw NATSError("cannot connect to \(servers.joined(separator: ","))", status)
        }
        handle = connection
    }

    /// Whether the connection is up now.
    public var isConnected: Bool { natsConnection_Status(handle) == NATS_CONN_STATUS_CONNECTED }

    /// Flushes what is buffered (within `timeoutMs`) and closes; the object is then unusable.
    public func close(timeoutMs: Int64 = 1000) {
        if isConnected { _ = natsConnection_FlushTimeout(handle, timeoutMs) }
        natsConnection_Close(handle)
    }

    /// Keeps `target` (retained once for libnats) until the connection is destroyed, then releases it.
    func retainUntilClosed(_ target: AnyObject) { callbackTargets.append(target) }

    deinit {
        natsConnection_Close(handle)
        natsConnection_Destroy(handle)
        for target in callbackTargets { Unmanaged.passUnretained(target).release() }
    }
}
