internal import CZlib

/// Inflates gzip members (windowBits 16+15) with a cap on the output size.
///
/// Owns one zlib `z_stream` (allocated here, `inflateEnd` and freed in `deinit`); reused across
/// messages with `inflateReset`. Confined to one thread; not `Sendable`.
public final class GzipDecompressor {
    private let stream: UnsafeMutablePointer<z_stream>

    public init() throws(GzipError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // inflateInit2: Z_OK, Z_MEM_ERROR, Z_VERSION_ERROR, Z_STREAM_ERROR (bad windowBits).
        let rv = CZlib_inflateInit2(stream, 16 + 15)
        guard rv == Z_OK else {
            stream.deallocate()
            throw GzipError(.resources, zlibCode: rv, "inflateInit2 failed")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Decompresses one complete gzip member. Throws `.tooLarge` as soon as the output would pass
    /// `maxOutputBytes`, `.corrupt` for bad, truncated or trailing data.
    public func decompress(_ input: some Collection<UInt8>, maxOutputBytes: Int) throws(GzipError) -> [UInt8] {
        defer {
            // inflateReset: Z_OK, or Z_STREAM_ERROR for a broken stream (cannot happen here).
            _ = inflateReset(stream)
        }
        var source = Array(input)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let status: Int32 = source.withUnsafeMutableBufferPointer { src in
            stream.pointee.next_in = src.baseAddress
            stream.pointee.avail_in = UInt32(src.count)
            while true {
                let (rv, produced) = chunk.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    // inflate: Z_OK (progress), Z_STREAM_END (done), Z_NEED_DICT, Z_DATA_ERROR
                    // (corrupt), Z_STREAM_ERROR, Z_MEM_ERROR, Z_BUF_ERROR (no progress possible:
                    // here, truncated input).
                    let rv = inflate(stream, Z_NO_FLUSH)
                    return (rv, out.count - Int(stream.pointee.avail_out))
                }
                if output.count + produced > maxOutputBytes { return Z_BUF_ERROR - 1000 }
                output.append(contentsOf: chunk[0..<produced])
                if rv == Z_STREAM_END { return stream.pointee.avail_in == 0 ? Z_STREAM_END : Z_DATA_ERROR }
                if rv != Z_OK { return rv }
                if produced == 0 && stream.pointee.avail_in == 0 { return Z_BUF_ERROR }
            }
        }
        switch status {
        case Z_STREAM_END: return output
        case Z_BUF_ERROR - 1000: throw GzipError(.tooLarge, "decompressed message larger than \(maxOutputBytes) bytes")
        case Z_MEM_ERROR: throw GzipError(.resources, zlibCode: status, "out of memory")
        case Z_BUF_ERROR: throw GzipError(.corrupt, zlibCode: status, "truncated gzip data")
        default: throw GzipError(.corrupt, zlibCode: status, "invalid gzip data")
        }
    }
}
