import ArgumentParser
import Foundation
import GRPCClient
import GRPCServer
import HTTP2
import NIOCore
import NIOSSL

/// `--data`: the folder of the store a command reads or writes, for every command that has one.
struct DataOption: ParsableArguments {
    @Option(help: "The folder holding the genealogy store. [env: MESGATE_DATA] (default: ./mesgate-data)")
    var data: String?

    /// `--data`, else `MESGATE_DATA`, else `./mesgate-data`.
    var directory: String { StoreAccess.directory(data) }
}

/// `--server`, `--token` and TLS: a running server to call instead of the store in `--data`.
struct ServerOptions: ParsableArguments {
    @Option(help: "Call a running server (HOST:PORT) instead of using the store in --data.")
    var server: String?

    @Flag(help: "Call --server over TLS, trusting the system's CAs (--ca implies --tls).")
    var tls = false

    @Option(help: "Call --server over TLS, trusting this CA (PEM) for its certificate.")
    var ca: String?

    @Option(help: "A client certificate (PEM) for a server that asks for one (--tls-client-ca); with --key.")
    var cert: String?

    @Option(help: "The private key (PEM) of --cert.")
    var key: String?

    @Option(help: "The bearer token for --server (see the role the command needs). [env: MESGATE_TOKEN]")
    var token: String?

    @Option(help: "Give up on --server after this many seconds (connecting and answering).")
    var timeoutSeconds = 60

    /// Refuses `--data` with `--server`, and `--token` without it.
    func validate(with data: DataOption) throws {
        if data.data != nil && server != nil { throw ValidationError("give --data or --server, not both") }
        try validateWithData()
    }

    /// The same checks for a command that reads --data also when it calls --server.
    func validateWithData() throws {
        if token != nil && server == nil { throw ValidationError("--token goes with --server") }
        if timeoutSeconds < 1 { throw ValidationError("--timeout-seconds must be at least 1") }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        if server == nil && (tls || ca != nil || cert != nil) { throw ValidationError("TLS options go with --server") }
    }

    /// Whether --server is called over TLS.
    var usesTLS: Bool { tls || ca != nil || cert != nil }

    /// Calls `path` on `--server` with one request message, with the token as bearer.
    func call(_ path: String, _ request: [UInt8]) async throws -> GRPCCallResult {
        guard let server else { throw ServeCommand.fail("no --server given") }
        let timeout = TimeAmount.seconds(Int64(timeoutSeconds))
        let client = try await StoreAccess.connect(server, tls: try tlsContext(), timeout: timeout)
        let bearer = token ?? ProcessInfo.processInfo.environment["MESGATE_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let reply: GRPCCallResult
        do {
            reply = try await client.call(
                path, [request], metadata: bearer.map { [HTTP2Header("authorization", "Bearer \($0)")] } ?? [],
                timeout: timeout)
        } catch {
            await client.close()
            throw failure(calling: path, on: server, error)
        }
        await client.close()
        if reply.headerBlocks.isEmpty && reply.closeCode == nil { throw closedWithoutAnswer(server) }
        return reply
    }

    /// What a failed call on `server` tells the user, with the option that helps where one does.
    private func failure(calling path: String, on server: String, _ error: any Error) -> any Error {
        switch error {
        case is GRPCClient.TimedOut:
            let hint =
                usesTLS ? "is it mesgate's gRPC port?" : "is it mesgate's h2c gRPC port? A TLS port needs --ca or --tls"
            return ServeCommand.fail("no answer from \(server) within \(timeoutSeconds) s (\(hint))")
        case is NIOSSLError, is BoringSSLError:
            return ServeCommand.fail("TLS with \(server) failed: \(Self.explain(error))")
        case ChannelError.ioOnClosedChannel:
            return closedWithoutAnswer(server)
        case let error as IOError where error.errnoCode == ECONNRESET:
            // What a TLS port does to h2c as often as closing: it resets the connection.
            return closedWithoutAnswer(server)
        default:
            return ServeCommand.fail("\(path) on \(server) failed: \(error)")
        }
    }

    private func closedWithoutAnswer(_ server: String) -> any Error {
        let hint = usesTLS ? "" : " (is it mesgate's h2c gRPC port? A TLS port needs --ca or --tls)"
        return ServeCommand.fail("\(server) closed or reset the connection without an answer\(hint)")
    }

    /// A TLS failure in words, with the option that fixes it.
    static func explain(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the server's certificate is not signed by a CA this command trusts (give that CA with --ca)"
        }
        if text.contains("CERTIFICATE_REQUIRED") || text.contains("HANDSHAKE_FAILURE") {
            return "the server asks for a client certificate (give one with --cert and --key)"
        }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("EOF during handshake") {
            return "the server did not answer in TLS (an h2c port? then call it without --tls, --ca, --cert)"
        }
        return text
    }

    private func tlsContext() throws -> NIOSSLContext? {
        guard usesTLS else { return nil }
        do {
            return try GRPCClient.tlsContext(trustRoots: ca, certificate: cert, key: key)
        } catch {
            throw ServeCommand.fail("cannot set up TLS (--ca, --cert, --key): \(error)")
        }
    }
}

extension GRPCCallResult {
    /// The status as people read it: `UNAUTHENTICATED (16): no bearer token`.
    var statusText: String {
        let name = GRPCStatus.Code(rawValue: status)?.name ?? "status \(status)"
        return statusMessage.isEmpty ? "\(name) (\(status))" : "\(name) (\(status)): \(statusMessage)"
    }
}
