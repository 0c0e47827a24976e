import Foundation
import NIOCore

/// The events of a file of length-delimited `mes.v1.Event` messages (what bench/plantgen writes),
/// read and framed before the run so that the clock measures the server, not the file. Each
/// event's id becomes `<run-id>-<id>`: without it a second run of the same file against one store
/// would be all DUPLICATE, the dedup path instead of the commit path.
struct EventFile {
    let path: String
    let runID: String

    /// The first `limit` events of the file (all of them if it holds fewer), each with the 5-byte
    /// gRPC prefix. They are slices of one buffer: one allocation for the lot, not one per event.
    func framedEvents(limit: Int) throws(EventFileError) -> [ByteBuffer] {
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw EventFileError("cannot read \(path): \(error)")
        }
        var all = ByteBuffer()
        var ranges: [Range<Int>] = []
        var i = 0
        while i < bytes.count && ranges.count < limit {
            let length = try varint(bytes, &i)
            guard length <= UInt64(bytes.count - i) else {
                throw EventFileError("\(path): event \(ranges.count + 1) is truncated")
            }
            let message = bytes[i..<(i + Int(length))]
            i += Int(length)
            let event = try renamed(message, number: ranges.count + 1)
            let start = all.writerIndex
            all.writeInteger(UInt8(0))
            all.writeInteger(UInt32(event.count))
            all.writeBytes(event)
            ranges.append(start..<all.writerIndex)
        }
        guard !ranges.isEmpty else { throw EventFileError("\(path) holds no events") }
        return ranges.map { all.getSlice(at: $0.lowerBound, length: $0.count)! }
    }

    /// The message with its `event_id` (field 1) replaced by `<run-id>-<id>`, written first, and
    /// every other top-level field kept byte for byte: re-encoding would need the schema and could
    /// change what the server is given beyond the id.
    private func renamed(_ message: ArraySlice<UInt8>, number: Int) throws(EventFileError) -> [UInt8] {
        var id: ArraySlice<UInt8>?
        var kept: [UInt8] = []
        kept.reserveCapacity(message.count)
        var i = message.startIndex
        while i < message.endIndex {
            let start = i
            let tag = try varint(message, &i)
            switch tag & 7 {
            case 0: _ = try varint(message, &i)
            case 1: try skip(message, &i, 8)
            case 5: try skip(message, &i, 4)
            case 2:
                let length = try varint(message, &i)
                guard length <= UInt64(message.endIndex - i) else { throw malformed(number) }
                if tag >> 3 == 1 {
                    // The last one wins, as in any protobuf decoder.
                    id = message[i..<(i + Int(length))]
                    i += Int(length)
                    continue
                }
                i += Int(length)
            default: throw malformed(number)  // groups: not in mes.v1
            }
            guard tag >> 3 != 1 else { throw malformed(number) }  // event_id is a string
            kept += message[start..<i]
        }
        guard let id, !id.isEmpty else { throw EventFileError("\(path): event \(number) has no event_id") }
        let newID = Array("\(runID)-".utf8) + id
        var out: [UInt8] = [1 << 3 | 2]
        out.reserveCapacity(newID.count + kept.count + 6)
        var length = UInt64(newID.count)
        while length >= 0x80 {
            out.append(UInt8(length & 0x7F) | 0x80)
            length >>= 7
        }
        out.append(UInt8(length))
        return out + newID + kept
    }

    private func varint(_ bytes: ArraySlice<UInt8>, _ i: inout Int) throws(EventFileError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.endIndex && shift < 64 {
            let b = bytes[i]
            i += 1
            value |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return value }
            shift += 7
        }
        throw EventFileError("\(path): a varint runs past its message")
    }

    private func varint(_ bytes: [UInt8], _ i: inout Int) throws(EventFileError) -> UInt64 {
        try varint(bytes[...], &i)
    }

    private func skip(_ bytes: ArraySlice<UInt8>, _ i: inout Int, _ count: Int) throws(EventFileError) {
        guard bytes.endIndex - i >= count else { throw EventFileError("\(path): a field runs past its message") }
        i += count
    }

    private func malformed(_ number: Int) -> EventFileError {
        EventFileError("\(path): event \(number) is not a protobuf message")
    }
}

/// Why an events file cannot be sent, in words for the command line.
struct EventFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
