import GRPCServer
import NIOCore
import NIOSSL
import NIOTLS
import X509

/// TLS for the gRPC listener (swift-nio-ssl): TLS 1.2 or later, ALPN `h2` only, and, with a
/// client CA, client certificates required and verified against it.
enum TLSSetup {
    /// A readable TLS set-up problem (a missing or bad file).
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The connection preamble that puts a TLS server handler in front of the gRPC handler.
    static func preamble(certificate: String, key: String, clientCA: String?) throws(Failure)
        -> @Sendable (any Channel) throws -> Void
    {
        let context: NIOSSLContext
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            guard !chain.isEmpty else { throw Failure(description: "no certificate in \(certificate)") }
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            configuration.minimumTLSVersion = .tlsv12
            configuration.applicationProtocols = ["h2"]
            if let clientCA {
                configuration.certificateVerification = .noHostnameVerification
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCA))
            }
            context = try NIOSSLContext(configuration: configuration)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "cannot set up TLS from \(certificate) and \(key): \(error)")
        }
        return { channel in
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
            if clientCA != nil { try channel.pipeline.syncOperations.addHandler(ClientCertificateNamer()) }
        }
    }
}

/// Names a connection by its client certificate's subject (`CN=line-7,O=Plant A`) once the TLS
/// handshake is done, for audit entries and stored events when no token names the client.
final class ClientCertificateNamer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        guard case TLSUserEvent.handshakeCompleted = event,
            let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
            let certificate = tls.peerCertificate, let der = try? certificate.toDERBytes(),
            let parsed = try? Certificate(derEncoded: der)
        else { return }
        context.fireUserInboundEventTriggered(GRPCPeerIdentity(parsed.subject.description))
    }
}
