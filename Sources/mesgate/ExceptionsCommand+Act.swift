import ArgumentParser
import Foundation
import GenealogyStore
import MESDomain
import MESMessages

extension ExceptionsCommand {
    /// `mesgate exceptions ack ID --reason`: a person takes care of an open exception.
    struct AcknowledgeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ack", abstract: "Acknowledge an open exception: you take care of it (audited).")

        @OptionGroup var location: DataOption
        @OptionGroup var remote: ServerOptions
        @Argument(help: "The exception's id (#N in the list).") var id: Int64
        @Option(help: "Why, or what you do about it (required; kept in the audit trail).") var reason: String
        @Flag(help: "Answer as JSON.") var json = false

        func validate() throws {
            try remote.validate(with: location)
            if reason.isEmpty { throw ValidationError("--reason must not be empty") }
        }

        func run() async throws {
            let x = try await ExceptionsCommand.act(close: false, id: id, reason: reason, location, remote)
            try ExceptionsCommand.show(x, json: json)
        }
    }

    /// `mesgate exceptions close ID --reason`: a person closes an exception.
    struct CloseCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "close", abstract: "Close an open or acknowledged exception (audited).")

        @OptionGroup var location: DataOption
        @OptionGroup var remote: ServerOptions
        @Argument(help: "The exception's id (#N in the list).") var id: Int64
        @Option(help: "Why it is closed (required; kept in the audit trail).") var reason: String
        @Flag(help: "Answer as JSON.") var json = false

        func validate() throws {
            try remote.validate(with: location)
            if reason.isEmpty { throw ValidationError("--reason must not be empty") }
        }

        func run() async throws {
            let x = try await ExceptionsCommand.act(close: true, id: id, reason: reason, location, remote)
            try ExceptionsCommand.show(x, json: json)
        }
    }

    /// Sends the acknowledgement or close to `--server` (audited under the token's client), or
    /// makes it on the store in `--data` while no server runs on it (audited under the OS user).
    static func act(close: Bool, id: Int64, reason: String, _ location: DataOption, _ remote: ServerOptions)
        async throws -> PlantException
    {
        let verb = close ? "Close" : "Acknowledge"
        if remote.server != nil {
            let reply = try await remote.call(
                "/mes.v1.Exceptions/\(verb)", ExceptionCodec.encodeAction(id: id, reason: reason))
            guard reply.status == 0, let message = reply.messages.first else {
                throw ServeCommand.fail("\(verb) failed: \(reply.statusText)")
            }
            return try message.withUnsafeBytes { bytes throws(MessageDecodingError) in
                try ExceptionCodec.decode(bytes)
            }
        }
        // A server on the folder tells its subscribers of every change: while it runs, go through it.
        let who = "\(OutboxCommand.actor) (mesgate exceptions)"
        let outcome = try await StoreAccess.withStoreAlone(location, logger: "mesgate.exceptions") { store in
            close
                ? await store.closeException(id, by: who, reason: reason)
                : await store.acknowledgeException(id, by: who, reason: reason)
        }
        switch outcome {
        case .changed(let x): return x
        case .notFound: throw ServeCommand.fail("no exception has id \(id)")
        case .refused(let why): throw ServeCommand.fail(why)
        case .failed(let error): throw ServeCommand.fail("the store could not record it: \(error)")
        }
    }

    static func show(_ x: PlantException, json: Bool) throws {
        if json { return try OutboxCommand.printJSON(object(x)) }
        Swift.print(line(x))
    }
}
