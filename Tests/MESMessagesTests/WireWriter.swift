/// A minimal protobuf wire-format writer, written independently of protobuf-c so the tests
/// check the decoder against bytes built by hand from the .proto field numbers.
struct WireWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func tag(_ field: Int, _ wireType: Int) { varint(UInt64(field << 3 | wireType)) }

    mutating func int64(_ field: Int, _ value: Int64) {
        tag(field, 0)
        varint(UInt64(bitPattern: value))
    }

    mutating func bytesField(_ field: Int, _ value: [UInt8]) {
        tag(field, 2)
        varint(UInt64(value.count))
        bytes += value
    }

    mutating func string(_ field: Int, _ value: String) { bytesField(field, Array(value.utf8)) }

    mutating func double(_ field: Int, _ value: Double) {
        tag(field, 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
    }

    mutating func message(_ field: Int, _ build: (inout WireWriter) -> Void) {
        var inner = WireWriter()
        build(&inner)
        bytesField(field, inner.bytes)
    }

    static func lotRef(
        _ w: inout WireWriter, product: String = "", lot: String = "", serial: String = "", container: String = ""
    ) {
        if !product.isEmpty { w.string(1, product) }
        if !lot.isEmpty { w.string(2, lot) }
        if !serial.isEmpty { w.string(3, serial) }
        if !container.isEmpty { w.string(4, container) }
    }

    static func quantity(_ w: inout WireWriter, _ value: Double, _ uom: String) {
        w.double(1, value)
        w.string(2, uom)
    }
}
