import CNATS
import Foundation

/// A durable pull consumer on a JetStream stream, taken in batches and acknowledged explicitly.
///
/// It pulls with its own requests (`CONSUMER.MSG.NEXT` on an inbox of its own) rather than
/// libnats' `natsSubscription_Fetch`, which overflows its buffer in libnats 3.4.1 when late
/// deliveries of an earlier pull arrive (fixed upstream in 3.9). A pull is read until its batch is
/// full, its 404/408 status or its expiry; the inbox lives as long as the consumer, so a late
/// delivery is read by the next pull. When the connection fails the inbox is replaced, and what was
/// delivered comes again after the ack wait; `maxAckPending` equal to the batch keeps a stream's
/// order across such a redelivery. Blocking, like the connection: use from one thread.
public final class PullConsumer {
    public struct Settings: Sendable, Hashable {
        public var stream: String
        public var durable: String
        /// Only messages on this subject (nil: all of the stream's).
        public var filterSubject: String?
        /// How long a delivered message waits for its ack before it is delivered again.
        public var ackWaitSeconds: Int64 = 10
        /// Deliveries waiting for their ack at most (and so the largest batch).
        public var maxAckPending: Int64 = 256

        public init(stream: String, durable: String, filterSubject: String? = nil) {
            self.stream = stream
            self.durable = durable
            self.filterSubject = filterSubject
        }
    }

    /// One message as delivered: what it carries, its place in the stream, and where its ack goes.
    public struct Delivery: Sendable, Hashable {
        public var message: NATSMessage
        public var streamSequence: UInt64
        var ackSubject: String
    }

    public let settings: Settings
    private let jetStream: JetStream
    private var connection: NATSConnection { jetStream.connection }
    private var inbox: String?
    private var subscription: OpaquePointer?

    /// Makes the durable consumer unless it exists (then its settings are left as they are).
    public init(_ jetStream: JetStream, _ settings: Settings) throws(NATSError) {
        self.jetStream = jetStream
        self.settings = settings
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        var code = jsErrCode(rawValue: 0)
        var status = js_GetConsumerInfo(&info, jetStream.context, settings.stream, settings.durable, nil, &code)
        if status == NATS_OK {
            jsConsumerInfo_Destroy(info)
            return
        }
        guard status == NATS_NOT_FOUND else {
            throw NATSError(
                "cannot look up consumer \(settings.durable) of \(settings.stream)", status, jetStreamCode: code)
        }
        var config = jsConsumerConfig()
        jsConsumerConfig_Init(&config)
        config.AckPolicy = js_AckExplicit
        config.DeliverPolicy = js_DeliverAll
        config.AckWait = settings.ackWaitSeconds * 1_000_000_000
        config.MaxAckPending = settings.maxAckPending
        config.MaxDeliver = -1
        status = settings.durable.withCString { durable in
            (settings.filterSubject ?? "").withCString { filter in
                config.Durable = durable
                if settings.filterSubject != nil { config.FilterSubject = filter }
                return js_AddConsumer(&info, jetStream.context, settings.stream, &config, nil, &code)
            }
        }
        guard status == NATS_OK else {
            throw NATSError(
                "cannot make consumer \(settings.durable) of \(settings.stream)", status, jetStreamCode: code)
        }
        jsConsumerInfo_Destroy(info)
    }

    deinit { dropInbox() }

    /// Up to `batch` messages, waiting at most `waitMs` for the first ones (an empty answer when
    /// none came).
    public func fetch(batch: Int, waitMs: Int64) throws(NATSError) -> [Delivery] {
        guard connection.isConnected else {
            throw NATSError("cannot pull from \(settings.stream): not connected", NATS_NOT_YET_CONNECTED)
        }
        let (inbox, subscription) = try openInbox()
        let request = "{\"batch\":\(batch),\"expires\":\(max(waitMs, 1) * 1_000_000)}"
        let subject = "\(jetStream.apiPrefix).CONSUMER.MSG.NEXT.\(settings.stream).\(settings.durable)"
        let sent = natsConnection_PublishRequestString(connection.handle, subject, inbox, request)
        guard sent == NATS_OK else { throw NATSError("cannot ask \(settings.stream) for messages", sent) }
        var deliveries: [Delivery] = []
        // The server ends a pull that got nothing with a 408 status when it expires, but one that
        // got part of its batch may just stop delivering: read until the expiry and a little more.
        // The inbox stays: a delivery that comes later (a slow server) is read by the next pull, in
        // stream order, since nothing new is delivered while `maxAckPending` are unacknowledged.
        let deadline = ContinuousClock.now + .milliseconds(max(waitMs, 1) + 100)
        while deliveries.count < batch {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            var msg: OpaquePointer?
            let status = natsSubscription_NextMsg(&msg, subscription, max(1, left.milliseconds))
            if status == NATS_TIMEOUT { break }
            guard status == NATS_OK, let msg else {
                dropInbox()
                throw NATSError("pull from \(settings.stream) failed", status)
            }
            defer { natsMsg_Destroy(msg) }
            var code: UnsafePointer<CChar>?
            if natsMsgHeader_Get(msg, "Status", &code) == NATS_OK, let code {
                if String(cString: code) == "100" { continue }  // a heartbeat
                // 404 no messages, 408 expired, 409: this pull is over (or, rarely, an earlier pull's
                // late status: then this round returns early and the next pull goes on).
                break
            }
            guard let reply = natsMsg_GetReply(msg).map({ String(cString: $0) }),
                let sequence = Self.streamSequence(ackSubject: reply)
            else { continue }
            deliveries.append(Delivery(message: NATSMessage(msg), streamSequence: sequence, ackSubject: reply))
        }
        return deliveries
    }

    /// Acknowledges `deliveries` and waits for the server to confirm the last one (the acks of one
    /// connection are taken in order).
    public func ack(_ deliveries: [Delivery], timeoutMs: Int64 = 5000) throws(NATSError) {
        guard let last = deliveries.last else { return }
        for delivery in deliveries.dropLast() {
            let status = natsConnection_PublishString(connection.handle, delivery.ackSubject, "+ACK")
            guard status == NATS_OK else { throw NATSError("cannot acknowledge \(settings.stream) messages", status) }
        }
        var reply: OpaquePointer?
        let status = natsConnection_RequestString(&reply, connection.handle, last.ackSubject, "+ACK", timeoutMs)
        guard status == NATS_OK else {
            throw NATSError("\(settings.stream) did not confirm the acks", status)
        }
        natsMsg_Destroy(reply)
    }

    /// The stream sequence below which every message has been acknowledged.
    public func acknowledgedThrough() throws(NATSError) -> UInt64 {
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        var code = jsErrCode(rawValue: 0)
        let status = js_GetConsumerInfo(&info, jetStream.context, settings.stream, settings.durable, nil, &code)
        guard status == NATS_OK, let info else {
            throw NATSError(
                "cannot read consumer \(settings.durable) of \(settings.stream)", status, jetStreamCode: code)
        }
        defer { jsConsumerInfo_Destroy(info) }
        return info.pointee.AckFloor.Stream
    }

    private func openInbox() throws(NATSError) -> (String, OpaquePointer) {
        if let inbox, let subscription { return (inbox, subscription) }
        var made: UnsafeMutablePointer<CChar>?
        var status = natsInbox_Create(&made)
        guard status == NATS_OK, let made else { throw NATSError("cannot make an inbox", status) }
        let name = String(cString: made)
        natsInbox_Destroy(made)
        var sub: OpaquePointer?
        status = natsConnection_SubscribeSync(&sub, connection.handle, name)
        guard status == NATS_OK, let sub else { throw NATSError("cannot subscribe to an inbox", status) }
        natsSubscription_SetPendingLimits(sub, -1, -1)
        inbox = name
        subscription = sub
        return (name, sub)
    }

    private func dropInbox() {
        if let subscription {
            natsSubscription_Unsubscribe(subscription)
            natsSubscription_Destroy(subscription)
        }
        subscription = nil
        inbox = nil
    }

    /// The stream sequence in an ack subject: `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>...`
    /// (9 tokens), or with domain and account hash first (12 tokens and more).
    static func streamSequence(ackSubject: String) -> UInt64? {
        let tokens = ackSubject.split(separator: ".", omittingEmptySubsequences: false)
        guard tokens.count >= 9, tokens[0] == "$JS", tokens[1] == "ACK" else { return nil }
        return UInt64(tokens[tokens.count == 9 ? 5 : 7])
    }
}

extension Duration {
    fileprivate var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
