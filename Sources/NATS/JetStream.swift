import CNATS
import Foundation

/// JetStream over one `NATSConnection`: streams made when missing, publishes acknowledged by the
/// stream with their message id, and a stream's last message. Blocking, like the connection; keep
/// the connection alive as long as this.
public final class JetStream {
    private let context: OpaquePointer
    private let connection: NATSConnection

    /// `domain`: the JetStream domain to talk to (nil: the local one); `waitMs`: how long an API
    /// request or a publish waits for its answer.
    public init(_ connection: NATSConnection, domain: String? = nil, waitMs: Int64 = 5000) throws(NATSError) {
        self.connection = connection
        var options = jsOptions()
        jsOptions_Init(&options)
        options.Wait = waitMs
        var made: OpaquePointer?
        let domainCopy = domain.map { strdup($0) }
        defer { domainCopy.map { free($0) } }
        options.Domain = domainCopy.map { UnsafePointer($0) } ?? nil
        let status = natsConnection_JetStream(&made, connection.handle, &options)
        guard status == NATS_OK, let made else { throw NATSError("cannot use JetStream", status) }
        context = made
    }

    deinit { jsCtx_Destroy(context) }

    /// A stream's settings (file storage, limits retention).
    public struct StreamSettings: Sendable, Hashable {
        public var name: String
        public var subjects: [String]
        /// How long a message is kept (0: for ever).
        public var maxAgeSeconds: Int64 = 0
        /// When a limit is reached: refuse new messages (true) or drop the oldest.
        public var discardNew = true
        /// The `Nats-Msg-Id` de-duplication window.
        public var duplicateWindowSeconds: Int64 = 120
        /// Refuse deleting or purging messages (a re-made stream makes the hub skip messages).
        public var denyDeleteAndPurge = true

        public init(name: String, subjects: [String]) {
            self.name = name
            self.subjects = subjects
        }
    }

    /// Makes the stream unless it exists; true when it was made.
    @discardableResult
    public func addStreamIfMissing(_ settings: StreamSettings) throws(NATSError) -> Bool {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var code = jsErrCode(rawValue: 0)
        var status = js_GetStreamInfo(&info, context, settings.name, nil, &code)
        if status == NATS_OK {
            jsStreamInfo_Destroy(info)
            return false
        }
        guard status == NATS_NOT_FOUND else {
            throw NATSError("cannot look up stream \(settings.name)", status, jetStreamCode: code)
        }
        var config = jsStreamConfig()
        jsStreamConfig_Init(&config)
        let name = strdup(settings.name)
        let subjects = settings.subjects.map { strdup($0) }
        defer {
            free(name)
            subjects.forEach { free($0) }
        }
        var subjectPointers = subjects.map { UnsafePointer<CChar>($0) }
        config.Name = UnsafePointer(name)
        config.SubjectsLen = Int32(subjects.count)
        config.Storage = js_FileStorage
        config.Retention = js_LimitsPolicy
        config.Discard = settings.discardNew ? js_DiscardNew : js_DiscardOld
        config.MaxAge = settings.maxAgeSeconds * 1_000_000_000
        config.Duplicates = settings.duplicateWindowSeconds * 1_000_000_000
        config.DenyDelete = settings.denyDeleteAndPurge
        config.DenyPurge = settings.denyDeleteAndPurge
        var made: UnsafeMutablePointer<jsStreamInfo>?
        status = subjectPointers.withUnsafeMutableBufferPointer { subjectList in
            config.Subjects = subjectList.baseAddress
            return js_AddStream(&made, context, &config, nil, &code)
        }
        guard status == NATS_OK else {
            throw NATSError("cannot make stream \(settings.name)", status, jetStreamCode: code)
        }
        jsStreamInfo_Destroy(made)
        return true
    }

    /// What the stream answered to a publish.
    public struct Ack: Sendable, Hashable {
        public var stream: String
        public var sequence: UInt64
        /// The message id was seen within the duplicate window: not stored again.
        public var duplicate: Bool
    }

    /// Publishes one message with `messageID` (`Nats-Msg-Id`) and `headers`, and waits up to
    /// `maxWaitMs` for the stream's ack.
    public func publish(_ message: NATSMessage, messageID: String, maxWaitMs: Int64 = 5000) throws(NATSError) -> Ack {
        let msg = try message.make()
        defer { natsMsg_Destroy(msg) }
        var options = jsPubOptions()
        jsPubOptions_Init(&options)
        options.MaxWait = maxWaitMs
        var ack: UnsafeMutablePointer<jsPubAck>?
        var code = jsErrCode(rawValue: 0)
        let status = messageID.withCString { id in
            options.MsgId = id
            return js_PublishMsg(&ack, context, msg, &options, &code)
        }
        guard status == NATS_OK, let ack else {
            throw NATSError("publish to \(message.subject) not acknowledged", status, jetStreamCode: code)
        }
        defer { jsPubAck_Destroy(ack) }
        return Ack(
            stream: ack.pointee.Stream.map { String(cString: $0) } ?? "", sequence: ack.pointee.Sequence,
            duplicate: ack.pointee.Duplicate)
    }

    /// The last message of `stream` on `subject` (`>`: any), or nil when it has none.
    public func lastMessage(stream: String, subject: String = ">") throws(NATSError) -> NATSMessage? {
        var msg: OpaquePointer?
        var code = jsErrCode(rawValue: 0)
        let status = js_GetLastMsg(&msg, context, stream, subject, nil, &code)
        if status == NATS_NOT_FOUND { return nil }
        guard status == NATS_OK, let msg else {
            throw NATSError("cannot read the last message of \(stream)", status, jetStreamCode: code)
        }
        defer { natsMsg_Destroy(msg) }
        return NATSMessage(msg)
    }
}

/// A message as Swift values: subject, headers (one value each) and body.
public struct NATSMessage: Sendable, Hashable {
    public var subject: String
    public var headers: [String: String]
    public var body: [UInt8]

    public init(subject: String, headers: [String: String] = [:], body: [UInt8]) {
        self.subject = subject
        self.headers = headers
        self.body = body
    }

    /// Reads a libnats message (which stays the caller's).
    init(_ msg: OpaquePointer) {
        subject = natsMsg_GetSubject(msg).map { String(cString: $0) } ?? ""
        let length = Int(natsMsg_GetDataLength(msg))
        body =
            natsMsg_GetData(msg).map {
                Array(UnsafeRawBufferPointer(start: $0, count: length).bindMemory(to: UInt8.self))
            } ?? []
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var count: Int32 = 0
        headers = [:]
        if natsMsgHeader_Keys(msg, &keys, &count) == NATS_OK, let keys {
            defer { free(keys) }
            for i in 0..<Int(count) {
                guard let key = keys[i] else { continue }
                var value: UnsafePointer<CChar>?
                if natsMsgHeader_Get(msg, key, &value) == NATS_OK, let value {
                    headers[String(cString: key)] = String(cString: value)
                }
            }
        }
    }

    /// A libnats message for publishing; the caller destroys it.
    func make() throws(NATSError) -> OpaquePointer {
        var msg: OpaquePointer?
        let status = body.withUnsafeBytes { bytes in
            natsMsg_Create(
                &msg, subject, nil, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count))
        }
        guard status == NATS_OK, let msg else { throw NATSError("cannot make a message for \(subject)", status) }
        for (key, value) in headers.sorted(by: { $0.key < $1.key }) {
            let set = natsMsgHeader_Set(msg, key, value)
            guard set == NATS_OK else {
                natsMsg_Destroy(msg)
                throw NATSError("cannot set header \(key)", set)
            }
        }
        return msg
    }
}
