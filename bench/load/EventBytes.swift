import Foundation

/// Builds framed `mes.v1.Event` messages by hand on the protobuf wire format. Event `n` is a
/// consumption of lot `L-<n / 100>` of STEEL into serial `S-<n>` of FRAME for work order
/// `WH/MO/<n / 500>`; the first event of every hundred (and of every stream) instead receives that
/// lot from a supplier, so consumptions name lots the store knows, as in a plant.
struct EventBytes {
    let runID: String
    let occurredAtMs = Int64(Date().timeIntervalSince1970 * 1000)

    /// The 5-byte gRPC prefix and the event.
    func framed(_ n: Int, firstOfStream: Bool) -> [UInt8] {
        var w: [UInt8] = []
        w.reserveCapacity(160)
        string(&w, 1, "\(runID)-\(n)")
        w.append(2 << 3)
        varint(&w, UInt64(occurredAtMs))
        string(&w, 3, "+02:00")
        string(&w, 4, "plant-1")
        string(&w, 5, "wc-\(n % 8)")
        string(&w, 7, "WH/MO/\(n / 500)")
        var component: [UInt8] = []
        string(&component, 1, "STEEL")
        string(&component, 2, "L-\(runID)-\(n / 100)")
        if n % 100 == 0 || firstOfStream {
            var received: [UInt8] = []
            bytes(&received, 1, component)
            bytes(&received, 2, quantity(1000))
            string(&received, 3, "ACME")
            string(&received, 4, "A-\(n / 100)")
            string(&received, 5, "PO-\(n / 1000)")
            bytes(&w, 10, received)
            return framing(w)
        }
        let qty = quantity(1.5)
        var into: [UInt8] = []
        string(&into, 1, "FRAME")
        string(&into, 3, "S-\(runID)-\(n)")
        var consumed: [UInt8] = []
        bytes(&consumed, 1, component)
        bytes(&consumed, 2, qty)
        bytes(&consumed, 3, into)
        bytes(&w, 11, consumed)
        return framing(w)
    }

    private func quantity(_ kilograms: Double) -> [UInt8] {
        var qty: [UInt8] = [1 << 3 | 1]
        withUnsafeBytes(of: kilograms.bitPattern.littleEndian) { qty += $0 }
        string(&qty, 2, "kg")
        return qty
    }

    private func framing(_ message: [UInt8]) -> [UInt8] {
        let length = UInt32(message.count)
        return [0, UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
            + message
    }

    private func varint(_ w: inout [UInt8], _ value: UInt64) {
        var v = value
        while v >= 0x80 {
            w.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        w.append(UInt8(v))
    }

    private func bytes(_ w: inout [UInt8], _ field: Int, _ value: [UInt8]) {
        varint(&w, UInt64(field << 3 | 2))
        varint(&w, UInt64(value.count))
        w += value
    }

    private func string(_ w: inout [UInt8], _ field: Int, _ value: String) { bytes(&w, field, Array(value.utf8)) }
}
