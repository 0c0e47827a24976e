internal import NIOCore

/// Reassembles gRPC length-prefixed messages (1-byte compressed flag, 4-byte big-endian length,
/// bytes) from DATA chunks, independent of frame boundaries. Confined to the connection's loop.
struct GRPCMessageDeframer {
    /// One message as it came off the wire.
    struct Message {
        var compressed: Bool
        var payload: ByteBuffer
        /// Prefix plus payload: what it cost the client's window.
        var wireBytes: Int
    }

    let maxMessageBytes: Int
    private var buffer: ByteBuffer?

    init(maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
    }

    /// True when bytes of an incomplete message are buffered.
    var hasPartialMessage: Bool { (buffer?.readableBytes ?? 0) > 0 }

    mutating func append(_ bytes: ByteBuffer) {
        guard var existing = buffer, existing.readableBytes > 0 else {
            buffer = bytes
            return
        }
        buffer = nil  // so that the write below does not copy
        var bytes = bytes
        existing.writeBuffer(&bytes)
        buffer = existing
    }

    /// The next complete message, nil when more bytes are needed. Throws RESOURCE_EXHAUSTED for a
    /// length prefix over the limit (before buffering the body) and INTERNAL for a bad flag.
    mutating func next() throws(GRPCStatus) -> Message? {
        guard var bytes = buffer, bytes.readableBytes >= 5 else { return nil }
        let start = bytes.readerIndex
        guard let flag = bytes.getInteger(at: start, as: UInt8.self),
            let length = bytes.getInteger(at: start + 1, as: UInt32.self)
        else { return nil }
        guard flag <= 1 else { throw GRPCStatus(.internalError, "invalid message compression flag \(flag)") }
        guard Int(length) <= maxMessageBytes else {
            throw GRPCStatus(
                .resourceExhausted, "message of \(length) bytes exceeds the limit of \(maxMessageBytes) bytes")
        }
        guard bytes.readableBytes >= 5 + Int(length) else { return nil }
        bytes.moveReaderIndex(forwardBy: 5)
        let payload = bytes.readSlice(length: Int(length)) ?? ByteBuffer()  // length checked above
        buffer = bytes.readableBytes > 0 ? bytes : nil
        return Message(compressed: flag == 1, payload: payload, wireBytes: 5 + Int(length))
    }
}
