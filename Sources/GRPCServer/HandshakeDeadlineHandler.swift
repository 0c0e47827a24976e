internal import NIOCore

/// Closes a connection that has not sent the HTTP/2 client preface and a SETTINGS frame header
/// (24 + 9 bytes) within the deadline, so that a client opening connections and sending nothing,
/// or a byte now and then (slowloris), holds no connection slot for long. Sits after TLS (it
/// counts decrypted bytes) and removes itself once the bytes are in. On the connection's loop.
final class HandshakeDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The client preface and one frame header.
    static let handshakeBytes = 24 + 9

    private let deadline: TimeAmount
    private var received = 0
    private var timer: Scheduled<Void>?
    private let onTimeout: @Sendable () -> Void

    init(deadline: TimeAmount, onTimeout: @escaping @Sendable () -> Void) {
        self.deadline = deadline
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let onTimeout = self.onTimeout
        timer = context.eventLoop.scheduleTask(in: deadline) {
            onTimeout()
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += unwrapInboundIn(data).readableBytes
        context.fireChannelRead(data)
        if received >= Self.handshakeBytes, timer != nil {
            timer?.cancel()
            timer = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}
