internal import CZlib

/// Deflates data into one gzip member (windowBits 16+15, default level).
///
/// Owns one zlib `z_stream` (allocated here, `deflateEnd` and freed in `deinit`); reused with
/// `deflateReset`. Confined to one thread; not `Sendable`.
public final class GzipCompressor {
    private let stream: UnsafeMutablePointer<z_stream>

    public init() throws(GzipError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // deflateInit2: Z_OK, Z_MEM_ERROR, Z_STREAM_ERROR (bad parameter), Z_VERSION_ERROR.
        let rv = CZlib_deflateInit2(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY)
        guard rv == Z_OK else {
            stream.deallocate()
            throw GzipError(.resources, zlibCode: rv, "deflateInit2 failed")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Compresses `input` into one complete gzip member.
    public func compress(_ input: some Collection<UInt8>) throws(GzipError) -> [UInt8] {
        defer {
            // deflateReset: Z_OK, or Z_STREAM_ERROR for a broken stream (cannot happen here).
            _ = deflateReset(stream)
        }
        var source = Array(input)
        var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, UInt(source.count))) + 32)
        let rv: Int32 = source.withUnsafeMutableBufferPointer { src in
            output.withUnsafeMutableBufferPointer { out in
                stream.pointee.next_in = src.baseAddress
                stream.pointee.avail_in = UInt32(src.count)
                stream.pointee.next_out = out.baseAddress
                stream.pointee.avail_out = UInt32(out.count)
                // deflate with Z_FINISH into a deflateBound-sized buffer: Z_STREAM_END, or
                // Z_STREAM_ERROR / Z_BUF_ERROR if zlib's bound did not hold.
                return deflate(stream, Z_FINISH)
            }
        }
        guard rv == Z_STREAM_END else { throw GzipError(.resources, zlibCode: rv, "deflate did not finish") }
        output.removeLast(Int(stream.pointee.avail_out))
        return output
    }
}
