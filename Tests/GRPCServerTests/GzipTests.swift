import Gzip
import Testing

/// The zlib wrapper: round trips, limits and bad input.
@Suite struct GzipTests {
    @Test(arguments: [0, 1, 100, 70_000])
    func roundTrip(size: Int) throws {
        let plain = (0..<size).map { UInt8(truncatingIfNeeded: $0 * 7 / 3) }
        let packed = try GzipCompressor().compress(plain)
        #expect(packed.starts(with: [0x1F, 0x8B]))  // a gzip member
        #expect(try GzipDecompressor().decompress(packed, maxOutputBytes: size) == plain)
    }

    @Test func decompressorIsReusable() throws {
        let compressor = try GzipCompressor()
        let decompressor = try GzipDecompressor()
        for text in ["lot A-1", "lot B-22", ""] {
            let packed = try compressor.compress(Array(text.utf8))
            #expect(try decompressor.decompress(packed, maxOutputBytes: 100) == Array(text.utf8))
        }
    }

    @Test func outputOverTheCapIsTooLarge() throws {
        let packed = try GzipCompressor().compress([UInt8](repeating: 0, count: 200_000))
        #expect {
            _ = try GzipDecompressor().decompress(packed, maxOutputBytes: 199_999)
        } throws: { ($0 as? GzipError)?.code == .tooLarge }
    }

    @Test func truncatedAndCorruptInputAreErrors() throws {
        let packed = try GzipCompressor().compress(Array("serial 0042".utf8))
        let decompressor = try GzipDecompressor()
        #expect {
            _ = try decompressor.decompress(packed.dropLast(4), maxOutputBytes: 100)
        } throws: { ($0 as? GzipError)?.code == .corrupt }
        #expect {
            _ = try decompressor.decompress([0x1F, 0x8B, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 1, 2], maxOutputBytes: 100)
        } throws: { ($0 as? GzipError)?.code == .corrupt }
        #expect {
            _ = try decompressor.decompress(packed + [0], maxOutputBytes: 100)
        } throws: { ($0 as? GzipError)?.code == .corrupt }
        #expect(try decompressor.decompress(packed, maxOutputBytes: 100) == Array("serial 0042".utf8))
    }
}
