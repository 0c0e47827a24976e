import HTTP2
import MESDomain
import MESMessages
import NIOCore

/// One load connection: an HTTP/2 client session with several PublishStream streams, each keeping
/// up to `window` events in flight. Confined to its channel's event loop.
final class LoadConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// One PublishStream.
    private struct Stream {
        /// Where this stream's sends fall within the pace's period, 0..<1 (see `pump`).
        let phase: Double
        let start: Int
        var next: Int
        let end: Int
        /// Send times (uptime ns) of events not yet acked, oldest first from `head`.
        var sentAt: [UInt64] = []
        var head = 0
        var inbound = ByteBuffer()
        var ended = false
        var inFlight: Int { sentAt.count - head }
    }

    private let plan: LoadPlan
    private let firstStream: Int
    private let events: LoadEvents
    private let done: EventLoopPromise<Void>
    private var session: HTTP2Session?
    private var context: ChannelHandlerContext?
    private var streams: [Int32: Stream] = [:]
    private var open = 0
    private var startedAt: UInt64 = 0
    private var pacer: RepeatedTask?

    /// What this connection saw.
    private(set) var stats = LoadStats()

    init(plan: LoadPlan, events: LoadEvents, firstStream: Int, done: EventLoopPromise<Void>) {
        self.plan = plan
        self.firstStream = firstStream
        self.events = events
        self.done = done
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        var settings = HTTP2Settings()
        settings.automaticWindowUpdate = true
        settings.initialWindowBytes = 1 << 20
        settings.connectionWindowBytes = 16 << 20
        session = try? HTTP2Session(role: .client, settings: settings)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        session = nil
        pacer?.cancel()
    }

    func channelActive(context: ChannelHandlerContext) {
        startedAt = NIODeadline.now().uptimeNanoseconds
        guard let session else { return fail("no HTTP/2 session") }
        for i in 0..<plan.streamsPerConnection {
            let range = plan.range(ofStream: firstStream + i)
            do {
                let id = try session.sendRequest(
                    headers: [
                        HTTP2Header(":method", "POST"), HTTP2Header(":scheme", "http"),
                        HTTP2Header(":path", "/mes.v1.EventIngest/PublishStream"),
                        HTTP2Header(":authority", "mesgate"), HTTP2Header("content-type", "application/grpc"),
                        HTTP2Header("te", "trailers"),
                    ], endStream: false)
                let phase = Double(firstStream + i) / Double(plan.streamCount)
                streams[id] = Stream(
                    phase: phase, start: range.lowerBound, next: range.lowerBound, end: range.upperBound)
                open += 1
            } catch {
                return fail("cannot open a stream: \(error)")
            }
        }
        if plan.ratePerSecond > 0 {
            // The task holds the handler until finish() cancels it.
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            pacer = context.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(2)) { _ in
                bound.value.pump()
            }
        } else {
            pump()
        }
    }

    /// Sends what each stream's window (and the pace, if any) allows, then flushes.
    private func pump() {
        guard let session else { return }
        let now = NIODeadline.now().uptimeNanoseconds
        let perStreamRate = Double(plan.ratePerSecond) / Double(plan.streamCount)
        let elapsed = Double(now - startedAt) / 1e9
        for (id, var stream) in streams where !stream.ended {
            var allowed = stream.end
            if plan.ratePerSecond > 0 {
                // Each stream is offset by its share of the period, so that the streams' sends are
                // spread over time as a plant's lines would be; without it every stream reached
                // its next event in the same tick and the load came in bursts of one event per
                // stream (32 events every 4.6 ms at 7,000 events/s).
                allowed = min(stream.end, stream.start + Int(elapsed * perStreamRate + stream.phase) + 1)
            }
            while stream.next < allowed && stream.inFlight < plan.window {
                session.sendData(streamID: id, events.framed(stream.next, firstOfStream: stream.next == stream.start))
                stream.sentAt.append(now)
                stream.next += 1
            }
            if stream.next == stream.end {
                session.endStream(streamID: id)
                stream.ended = true
            }
            streams[id] = stream
        }
        flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let session else { return }
        do {
            handle(try session.receive(unwrapInboundIn(data)))
        } catch {
            return fail("HTTP/2 error: \(error)")
        }
        if plan.ratePerSecond == 0 { pump() } else { flush() }
    }

    private func handle(_ events: [HTTP2Event]) {
        let now = NIODeadline.now().uptimeNanoseconds
        for event in events {
            switch event {
            case .data(let id, var chunk):
                guard var stream = streams[id] else { continue }
                stream.inbound.writeBuffer(&chunk)
                while let message = Self.nextMessage(&stream.inbound) {
                    record(message, sentAt: stream.sentAt[stream.head], now: now)
                    stream.head += 1
                }
                if stream.head > 4096 {
                    stream.sentAt.removeFirst(stream.head)
                    stream.head = 0
                }
                streams[id] = stream
            case .headers(_, let headers, _):
                if let status = headers.first(where: { $0.name == "grpc-status" })?.value, status != "0" {
                    stats.failed += 1
                    stats.errors.append(
                        "grpc-status \(status) \(headers.first { $0.name == "grpc-message" }?.value ?? "")")
                }
            case .streamClosed(let id, _):
                if streams.removeValue(forKey: id) != nil { open -= 1 }
                if open == 0 { finish() }
            case .endStream, .goAway:
                break
            }
        }
    }

    private func record(_ message: ByteBuffer, sentAt: UInt64, now: UInt64) {
        stats.recordLatency(sentAt: sentAt, now: now)
        stats.count(ack: message)
    }

    /// Takes one complete gRPC message (without its 5-byte prefix) off the front of `buffer`.
    private static func nextMessage(_ buffer: inout ByteBuffer) -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self),
            buffer.readableBytes >= 5 + Int(length)
        else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        return buffer.readSlice(length: Int(length))
    }

    private func flush() {
        guard let session, let context else { return }
        var out = context.channel.allocator.buffer(capacity: 0)
        do {
            handle(try session.drainOutput(into: &out))
        } catch {
            return fail("HTTP/2 error: \(error)")
        }
        if out.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(out), promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if open > 0 { fail("connection closed with \(open) streams open") }
    }

    private func fail(_ reason: String) {
        stats.fail(reason)
        finish()
        context?.close(promise: nil)
    }

    /// Ends the run of this connection as failed (the run's time limit passed).
    func timeOut() {
        if !finished { fail("timed out with \(open) streams open") }
    }

    private var finished = false

    private func finish() {
        guard !finished else { return }
        finished = true
        pacer?.cancel()
        done.succeed(())
    }
}

/// Counts and latencies of one connection, merged into the run's report.
struct LoadStats: Sendable {
    var accepted = 0
    var duplicate = 0
    var rejected = 0
    var failed = 0
    var latenciesMicros: [UInt32] = []
    var errors: [String] = []
}

extension LoadStats {
    /// The time from sending an event to receiving its answer, both uptime nanoseconds.
    mutating func recordLatency(sentAt: UInt64, now: UInt64) {
        latenciesMicros.append(UInt32(min(UInt64(UInt32.max), (now - sentAt) / 1000)))
    }

    /// Counts one `mes.v1.Ack` (without its gRPC prefix) by result; an unreadable one is a failure.
    mutating func count(ack message: ByteBuffer) {
        do {
            let ack = try message.withUnsafeReadableBytes { try AckCodec.decode($0) }
            switch ack.result {
            case .accepted: accepted += 1
            case .duplicate: duplicate += 1
            case .rejected: rejected += 1
            }
        } catch {
            failed += 1
        }
    }

    mutating func fail(_ reason: String) {
        errors.append(reason)
        failed += 1
    }
}
