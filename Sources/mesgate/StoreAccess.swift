import ArgumentParser
import Foundation
import GRPCClient
import GenealogyStore
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// What the commands that read a store (`--data`) or call a server (`--server`) share.
enum StoreAccess {
    /// `--data`, else `MESGATE_DATA`, else `./mesgate-data`.
    static func directory(_ data: String?) -> String {
        data ?? ProcessInfo.processInfo.environment["MESGATE_DATA"] ?? "./mesgate-data"
    }

    /// Opens the store that is already in the `--data` folder beside whatever server runs on it
    /// (`GenealogyStore.openForTool`: no migration, no checkpoint; `.read` changes nothing);
    /// fails with a message (and `hint`) when there is none, or it cannot be opened (a store of
    /// another schema version: the message says to run `mesgate serve` or use a newer mesgate).
    static func openExisting(
        _ data: String?, access: ToolAccess, hint: String = "give --data DIR", logger: Logger
    ) throws -> GenealogyStore {
        let directory = directory(data)
        guard FileManager.default.fileExists(atPath: directory + "/" + GenealogyStore.fileName) else {
            throw ServeCommand.fail("no store in \(directory) (\(hint))")
        }
        do throws(GenealogyStoreError) {
            return try GenealogyStore.openForTool(directory: directory, access: access, logger: logger)
        } catch {
            throw ServeCommand.fail("cannot open the store in \(directory): \(error.message)")
        }
    }

    /// A logger that says nothing: for commands whose own output is the answer.
    static func quietLogger(_ label: String) -> Logger { Logger(label: label) { _ in SwiftLogNoOpLogHandler() } }

    /// Runs `body` on the store in `data` opened for writing while no server runs on it (its folder
    /// lock held): a server keeps state of the store in memory (holds, the audit head, its
    /// subscribers), so while one runs a change must go through it (`--server`).
    static func withStoreAlone<T>(
        _ location: DataOption, logger label: String, _ body: (GenealogyStore) async throws -> T
    ) async throws -> T {
        let folderLock: DataFolderLock
        do throws(GenealogyStoreError) {
            folderLock = try DataFolderLock.acquire(directory: location.directory)
        } catch {
            throw ServeCommand.fail("\(error.message); while a server runs on the store, call it: --server HOST:PORT")
        }
        defer { withExtendedLifetime(folderLock) {} }
        let store = try openExisting(
            location.data, access: .write, hint: "give --data DIR or --server HOST:PORT", logger: quietLogger(label))
        defer { store.close() }
        return try await body(store)
    }

    /// Connects to `--server HOST:PORT` (h2c, or TLS with `tls`) within `timeout`; fails with a message.
    static func connect(_ address: String, tls: NIOSSLContext?, timeout: TimeAmount) async throws -> GRPCClient {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw ServeCommand.fail("--server must be HOST:PORT")
        }
        do {
            return try await GRPCClient.connect(host: String(address[..<colon]), port: port, tls: tls, timeout: timeout)
        } catch {
            throw ServeCommand.fail("cannot connect to \(address): \(error)")
        }
    }

    /// Writes `bytes` to the file at `path`, or to standard output without one.
    /// With a path, says on standard error what was written (standard output stays the answer's).
    static func write(_ bytes: [UInt8], to path: String?) throws {
        guard let path else { return FileHandle.standardOutput.write(Data(bytes)) }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw ServeCommand.fail("cannot write \(path)")
        }
        let size =
            bytes.count < 10_000
            ? "\(bytes.count) bytes"
            : bytes.count < 10_000_000
                ? "\(bytes.count / 1000) kB" : String(format: "%.1f MB", Double(bytes.count) / 1_000_000)
        FileHandle.standardError.write(Data("mesgate: wrote \(size) to \(path)\n".utf8))
    }
}
