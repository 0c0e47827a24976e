import Dispatch
import Foundation
import ServeConfiguration

/// libFuzzer entry: the input as the `--config` JSON file of `mesgate serve`, resolved exactly as
/// the command resolves it (the file check, swift-configuration's JSON provider, every option's
/// checks, then the Odoo options), with no flags and an empty environment.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // A plain write: FileManager.createFile writes a temporary file, syncs it and renames it, which
    // was three quarters of the time per input.
    let file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard file >= 0, write(file, data, size) == size, close(file) == 0 else { fatalError("cannot write \(path)") }
    let done = DispatchSemaphore(value: 0)
    Task {
        await resolve()
        done.signal()
    }
    done.wait()
    return 0
}

/// Where each input is written: one file per fuzzing process, in memory when /dev/shm exists.
let path = URL(
    fileURLWithPath: FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
)
.appendingPathComponent(
    "mesgate-fuzz-config-\(ProcessInfo.processInfo.processIdentifier).json"
).path

/// `mesgate serve --config PATH`, parsed once.
nonisolated(unsafe) let serve = try? ServeOptions.parse(["--config", path])
nonisolated(unsafe) let odoo = try? OdooOptions.parse([])

func resolve() async {
    guard let serve, let odoo else { fatalError("the fuzz target's own flags do not parse") }
    _ = try? await serve.resolve(environment: [:])
    _ = try? await odoo.resolve(configPath: path, environment: [:])
}
