import Logging
import NIOCore

@testable import GRPCServer

/// libFuzzer entry: a stream's DATA bytes through `GRPCMessageDeframer` and the connection's
/// message decoding (gzip through Sources/Gzip when the call said grpc-encoding: gzip), as
/// `GRPCConnectionHandler` runs them, with the limits checked on every message that comes out.
///
/// Byte 0: bit 0 is grpc-encoding gzip, bits 1–3 split the rest into 1–8 DATA chunks; byte 1 sets
/// the message limit to 2^(byte mod 24) bytes. The rest is the stream's DATA.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let gzip = data[0] & 1 != 0
    let chunks = Int((data[0] >> 1) & 7) + 1
    var configuration = GRPCServerConfiguration()
    configuration.maxMessageBytes = 1 << (Int(data[1]) % 24)
    let connection = GRPCConnectionHandler(
        configuration: configuration, methods: [:], connectionNumber: 1, logger: logger)
    var deframer = GRPCMessageDeframer(maxMessageBytes: configuration.maxMessageBytes)
    let bytes = UnsafeBufferPointer(start: data + 2, count: size - 2)
    let chunkSize = max(1, (bytes.count + chunks - 1) / chunks)
    var offset = 0
    var delivered = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + chunkSize)
        deframer.append(ByteBuffer(bytes: bytes[offset..<end]))
        offset = end
        do {
            while let message = try deframer.next() {
                precondition(message.wireBytes == 5 + message.payload.readableBytes, "wire size is prefix + payload")
                precondition(message.payload.readableBytes <= configuration.maxMessageBytes, "message over the limit")
                let payload = try connection.decode(message, gzip: gzip)
                precondition(payload.readableBytes <= configuration.maxMessageBytes, "decoded message over the limit")
                delivered += message.wireBytes
            }
        } catch {
            return 0  // the call ends with this status
        }
    }
    precondition(delivered <= bytes.count, "delivered more than was sent")
    precondition(deframer.hasPartialMessage == (delivered < bytes.count), "partial message not reported")
    return 0
}

let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
