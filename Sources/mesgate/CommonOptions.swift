import ArgumentParser
import Foundation
import GRPCClient
import GRPCServer
import HTTP2
import NIOCore

/// `--data`: the folder of the store a command reads or writes, for every command that has one.
struct DataOption: ParsableArguments {
    @Option(help: "The folder holding the genealogy store. [env: MESGATE_DATA] (default: ./mesgate-data)")
    var data: String?

    /// `--data`, else `MESGATE_DATA`, else `./mesgate-data`.
    var directory: String { StoreAccess.directory(data) }
}

/// `--server` and `--token`: a running server to call instead of the store in `--data`.
struct ServerOptions: ParsableArguments {
    @Option(help: "Call a running server (HOST:PORT, h2c) instead of using the store in --data.")
    var server: String?

    @Option(help: "The bearer token for --server (see the role the command needs). [env: MESGATE_TOKEN]")
    var token: String?

    @Option(help: "Give up on --server after this many seconds (connecting and answering).")
    var timeoutSeconds = 60

    /// Refuses `--data` with `--server`, and `--token` without it.
    func validate(with data: DataOption) throws {
        if data.data != nil && server != nil { throw ValidationError("give --data or --server, not both") }
        if token != nil && server == nil { throw ValidationError("--token goes with --server") }
        if timeoutSeconds < 1 { throw ValidationError("--timeout-seconds must be at least 1") }
    }

    /// Calls `path` on `--server` with one request message, with the token as bearer.
    func call(_ path: String, _ request: [UInt8]) async throws -> GRPCCallResult {
        guard let server else { throw ServeCommand.fail("no --server given") }
        let timeout = TimeAmount.seconds(Int64(timeoutSeconds))
        let client = try await StoreAccess.connect(server, timeout: timeout)
        let bearer = token ?? ProcessInfo.processInfo.environment["MESGATE_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let reply: GRPCCallResult
        do {
            reply = try await client.call(
                path, [request], metadata: bearer.map { [HTTP2Header("authorization", "Bearer \($0)")] } ?? [],
                timeout: timeout)
        } catch is GRPCClient.TimedOut {
            await client.close()
            throw ServeCommand.fail(
                "no answer from \(server) within \(timeoutSeconds) s (is it mesgate's h2c gRPC port, not a TLS one?)")
        } catch {
            await client.close()
            throw ServeCommand.fail("\(path) on \(server) failed: \(error)")
        }
        await client.close()
        return reply
    }
}

extension GRPCCallResult {
    /// The status as people read it: `UNAUTHENTICATED (16): no bearer token`.
    var statusText: String {
        let name = GRPCStatus.Code(rawValue: status)?.name ?? "status \(status)"
        return statusMessage.isEmpty ? "\(name) (\(status))" : "\(name) (\(status)): \(statusMessage)"
    }
}
