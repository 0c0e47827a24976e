import NIOCore
import NIOHTTP1

/// One admin HTTP/1.1 connection: reads a request, asks the routes, writes the answer. Runs on
/// the connection's event loop; the routes run in a task and the answer hops back to the loop.
final class AdminHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: any AdminRoutes
    private let access: AdminAccess
    private var head: HTTPRequestHead?

    init(routes: any AdminRoutes, access: AdminAccess) {
        self.routes = routes
        self.access = access
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            answer(head, context: context)
        }
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = head.isKeepAlive
        guard head.method == .GET || head.method == .HEAD else {
            return write(.text("only GET\n", status: .methodNotAllowed), head: head, keepAlive: keepAlive, context)
        }
        let path = String(head.uri.prefix { $0 != "?" })
        let peer = context.channel.remoteAddress?.description ?? "unknown"
        switch access.verdict(path: path, authorization: head.headers.first(name: "authorization"), peer: peer) {
        case .allowed: break
        case .unauthenticated(let why):
            var refusal = AdminResponse.text("\(why)\n", status: .unauthorized)
            refusal.extraHeaders = [("www-authenticate", "Bearer realm=\"mesgate-admin\"")]
            return write(refusal, head: head, keepAlive: keepAlive, context)
        case .forbidden(let why):
            return write(.text("\(why)\n", status: .forbidden), head: head, keepAlive: keepAlive, context)
        }
        let routes = self.routes
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        Task {
            let response = await routes.respond(to: path)
            loop.execute {
                let (handler, context) = bound.value
                handler.write(response, head: head, keepAlive: keepAlive, context)
            }
        }
    }

    private func write(
        _ response: AdminResponse, head: HTTPRequestHead, keepAlive: Bool, _ context: ChannelHandlerContext
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.contentType)
        headers.add(name: "content-length", value: String(response.body.count))
        headers.add(name: "cache-control", value: "no-store")
        headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
        for (name, value) in response.extraHeaders { headers.add(name: name, value: value) }
        let responseHead = HTTPResponseHead(version: head.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
