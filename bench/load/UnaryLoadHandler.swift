import HTTP2
import NIOCore

/// One load connection in unary mode: keeps `streamsPerConnection` EventIngest/Publish calls open
/// at once, one event each, opening the next call as each one closes. Confined to its loop.
final class UnaryLoadHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// One Publish call in flight.
    private struct Call {
        let sentAt: UInt64
        var response = ByteBuffer()
        var status: String?
    }

    private let plan: LoadPlan
    private let events: LoadEvents
    private let done: EventLoopPromise<Void>
    private var session: HTTP2Session?
    private var context: ChannelHandlerContext?
    private var calls: [Int32: Call] = [:]
    private var next: Int
    private let end: Int
    private var finished = false

    private(set) var stats = LoadStats()

    init(plan: LoadPlan, events: LoadEvents, connection: Int, done: EventLoopPromise<Void>) {
        self.plan = plan
        self.events = events
        self.done = done
        let first = plan.range(ofStream: connection * plan.streamsPerConnection)
        let last = plan.range(ofStream: (connection + 1) * plan.streamsPerConnection - 1)
        next = first.lowerBound
        end = last.upperBound
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        var settings = HTTP2Settings()
        settings.automaticWindowUpdate = true
        session = try? HTTP2Session(role: .client, settings: settings)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        session = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        openCalls()
    }

    /// Opens calls until `streamsPerConnection` are in flight or the events run out.
    private func openCalls() {
        guard let session else { return }
        let now = NIODeadline.now().uptimeNanoseconds
        while calls.count < plan.streamsPerConnection && next < end {
            do {
                let id = try session.sendRequest(
                    headers: [
                        HTTP2Header(":method", "POST"), HTTP2Header(":scheme", "http"),
                        HTTP2Header(":path", "/mes.v1.EventIngest/Publish"),
                        HTTP2Header(":authority", "mesgate"), HTTP2Header("content-type", "application/grpc"),
                        HTTP2Header("te", "trailers"),
                    ], endStream: false)
                // Every event its own lot's receipt: unary calls finish in any order.
                session.sendData(streamID: id, events.framed(next, firstOfStream: true))
                session.endStream(streamID: id)
                calls[id] = Call(sentAt: now)
                next += 1
            } catch {
                return fail("cannot open a call: \(error)")
            }
        }
        if calls.isEmpty && next == end { finish() }
        flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let session else { return }
        do {
            handle(try session.receive(unwrapInboundIn(data)))
        } catch {
            return fail("HTTP/2 error: \(error)")
        }
        openCalls()
    }

    private func handle(_ events: [HTTP2Event]) {
        for event in events {
            switch event {
            case .data(let id, var chunk):
                calls[id]?.response.writeBuffer(&chunk)
            case .headers(let id, let headers, _):
                if let status = headers.first(where: { $0.name == "grpc-status" })?.value { calls[id]?.status = status }
            case .streamClosed(let id, _):
                guard let call = calls.removeValue(forKey: id) else { continue }
                complete(call)
            case .endStream, .goAway:
                break
            }
        }
    }

    private func complete(_ call: Call) {
        let now = NIODeadline.now().uptimeNanoseconds
        stats.recordLatency(sentAt: call.sentAt, now: now)
        guard call.status == "0", call.response.readableBytes >= 5 else {
            stats.failed += 1
            if stats.errors.count < 5 { stats.errors.append("grpc-status \(call.status ?? "none")") }
            return
        }
        var response = call.response
        response.moveReaderIndex(forwardBy: 5)
        stats.count(ack: response)
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
        if !calls.isEmpty || next < end { fail("connection closed with \(calls.count) calls open") }
    }

    /// Ends the run of this connection as failed (the run's time limit passed).
    func timeOut() {
        if !finished { fail("timed out with \(calls.count) calls open") }
    }

    private func fail(_ reason: String) {
        stats.fail(reason)
        finish()
        context?.close(promise: nil)
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        done.succeed(())
    }
}
