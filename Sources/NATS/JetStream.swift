import CNATS
import Foundation

/// JetStream over one `NATSConnection`: streams made when missing, publishes acknowledged by the
/// stream with their message id, and a stream's last message. Blocking, like the connection; keep
/// the connection alive as long as this.
public final class JetStream {
    let context: OpaquePointer
    let connection: NATSConnection
    /// The subject prefix of this domain's JetStream API (`$JS.API`, `$JS.<domain>.API`).
    let apiPrefix: String
    /// Where the ack handler leaves the answers to asynchronous publishes (retained by the context).
    private let pending: PendingAcks

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
        let pending = PendingAcks()
        options.PublishAsync.MaxPending = 4096
        options.PublishAsync.AckHandler = PendingAcks.handler
        options.PublishAsync.AckHandlerClosure = Unmanaged.passRetained(pending).toOpaque()
        let status = natsConnection_JetStream(&made, connection.handle, &options)
        guard status == NATS_OK, let made else {
            Unmanaged.passUnretained(pending).release()
            throw NATSError("cannot use JetStream", status)
        }
        self.pending = pending
        apiPrefix = domain.map { "$JS.\($0).API" } ?? "$JS.API"
        context = made
    }

    deinit {
        jsCtx_Destroy(context)
        // Late ack callbacks (a publish that timed out) may still come until the connection closes.
        connection.retainUntilClosed(pending)
    }

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
        /// Copies kept by a cluster (1 on a single server, 3 on the hub's cluster).
        public var replicas = 1
        /// Makes the stream a mirror of another one (then it has no subjects of its own).
        public var mirror: Mirror?

        public init(name: String, subjects: [String]) {
            self.name = name
            self.subjects = subjects
        }
    }

    /// The stream a mirror copies, and where: the API prefix of its JetStream domain
    /// (`$JS.<domain>.API`; nil: this one).
    public struct Mirror: Sendable, Hashable {
        public var stream: String
        public var apiPrefix: String?

        public init(stream: String, domain: String?) {
            self.stream = stream
            self.apiPrefix = domain.map { "$JS.\($0).API" }
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
        config.Replicas = Int64(settings.replicas)
        let mirrorName = settings.mirror.map { strdup($0.stream) }
        let mirrorPrefix = settings.mirror?.apiPrefix.map { strdup($0) }
        defer {
            mirrorName.map { free($0) }
            mirrorPrefix.map { free($0) }
        }
        // libnats 3.4.1 writes DeliverPrefix into the stream config JSON unconditionally (strlen(NULL) otherwise).
        let emptyCString = strdup("")
        defer { free(emptyCString) }
        var source = jsStreamSource()
        jsStreamSource_Init(&source)
        var external = jsExternalStream()
        jsExternalStream_Init(&external)
        config.Storage = js_FileStorage
        config.Retention = js_LimitsPolicy
        config.Discard = settings.discardNew ? js_DiscardNew : js_DiscardOld
        config.MaxAge = settings.maxAgeSeconds * 1_000_000_000
        config.Duplicates = settings.duplicateWindowSeconds * 1_000_000_000
        config.DenyDelete = settings.denyDeleteAndPurge
        config.DenyPurge = settings.denyDeleteAndPurge
        var made: UnsafeMutablePointer<jsStreamInfo>?
        status = subjectPointers.withUnsafeMutableBufferPointer { subjectList in
            config.Subjects = subjects.isEmpty ? nil : subjectList.baseAddress
            return withUnsafeMutablePointer(to: &external) { external in
                withUnsafeMutablePointer(to: &source) { source in
                    if let mirrorName {
                        source.pointee.Name = UnsafePointer(mirrorName)
                        if let mirrorPrefix {
                            external.pointee.APIPrefix = UnsafePointer(mirrorPrefix)
                            external.pointee.DeliverPrefix = UnsafePointer(emptyCString)
                            source.pointee.External = external
                        }
                        config.Mirror = source
                    }
                    return js_AddStream(&made, context, &config, nil, &code)
                }
            }
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

    /// Publishes `messages` in order, pipelined, and waits up to `maxWaitMs` for every ack. Each
    /// one expects the one before it to be the stream's last message (`ExpectLastMsgId`; the first
    /// expects `previousID`, nil: no expectation), so a message lost in flight keeps every later one
    /// out of the stream instead of letting them in out of order. Throws the first failure; the
    /// messages before it are stored.
    public func publishInOrder(
        _ messages: [(message: NATSMessage, id: String)], after previousID: String?, maxWaitMs: Int64
    )
        throws(NATSError) -> [Ack]
    {
        pending.reset()
        var expected = previousID
        for (message, id) in messages {
            var msg: OpaquePointer? = try message.make()
            var options = jsPubOptions()
            jsPubOptions_Init(&options)
            options.MaxWait = maxWaitMs
            let status = id.withCString { idPointer in
                (expected ?? "").withCString { last in
                    options.MsgId = idPointer
                    if expected != nil { options.ExpectLastMsgId = last }
                    return js_PublishMsgAsync(context, &msg, &options)
                }
            }
            if status != NATS_OK {
                if let msg { natsMsg_Destroy(msg) }
                _ = waitForAcks(maxWaitMs)
                throw NATSError("cannot publish to \(message.subject)", status)
            }
            expected = id
        }
        let waited = waitForAcks(maxWaitMs)
        let answers = pending.take()
        var acks: [Ack] = []
        for (_, id) in messages {
            switch answers[id] {
            case .stored(let ack): acks.append(ack)
            case .failed(let error): throw error
            case nil:
                throw waited ?? NATSError("no ack for \(id)", NATS_TIMEOUT)
            }
        }
        return acks
    }

    /// Waits for the answers to every asynchronous publish; the error when some never came.
    private func waitForAcks(_ maxWaitMs: Int64) -> NATSError? {
        var options = jsPubOptions()
        jsPubOptions_Init(&options)
        options.MaxWait = maxWaitMs + 1000
        let status = js_PublishAsyncComplete(context, &options)
        return status == NATS_OK ? nil : NATSError("acks did not all come", status)
    }

    /// The names of this domain's streams that start with `prefix`.
    public func streamNames(prefix: String) throws(NATSError) -> [String] {
        var list: UnsafeMutablePointer<jsStreamNamesList>?
        var code = jsErrCode(rawValue: 0)
        let status = js_StreamNames(&list, context, nil, &code)
        if status == NATS_NOT_FOUND { return [] }
        guard status == NATS_OK, let list else { throw NATSError("cannot list streams", status, jetStreamCode: code) }
        defer { jsStreamNamesList_Destroy(list) }
        return (0..<Int(list.pointee.Count)).compactMap { list.pointee.List[$0].map { String(cString: $0) } }
            .filter { $0.hasPrefix(prefix) }.sorted()
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

/// The answers of asynchronous publishes, by message id, as libnats' ack handler leaves them.
final class PendingAcks: @unchecked Sendable {
    enum Answer {
        case stored(JetStream.Ack)
        case failed(NATSError)
    }

    private let lock = NSLock()
    private var answers: [String: Answer] = [:]

    func reset() { lock.withLock { answers.removeAll(keepingCapacity: true) } }
    func take() -> [String: Answer] { lock.withLock { answers } }

    func record(_ id: String, _ answer: Answer) { lock.withLock { answers[id] = answer } }

    /// Runs on libnats' reply thread; with an ack handler the message is ours to destroy.
    static let handler: jsPubAckHandler = { _, msg, ack, failure, closure in
        guard let msg, let closure else { return }
        defer { natsMsg_Destroy(msg) }
        let acks = Unmanaged<PendingAcks>.fromOpaque(closure).takeUnretainedValue()
        var value: UnsafePointer<CChar>?
        guard natsMsgHeader_Get(msg, "Nats-Msg-Id", &value) == NATS_OK, let value else { return }
        let id = String(cString: value)
        if let ack {
            acks.record(
                id,
                .stored(
                    JetStream.Ack(
                        stream: ack.pointee.Stream.map { String(cString: $0) } ?? "", sequence: ack.pointee.Sequence,
                        duplicate: ack.pointee.Duplicate)))
        } else if let failure {
            var error = NATSError(
                "publish of \(id) refused", failure.pointee.Err, jetStreamCode: failure.pointee.ErrCode)
            if let text = failure.pointee.ErrText { error.detail = String(cString: text) }
            acks.record(id, .failed(error))
        }
    }
}
