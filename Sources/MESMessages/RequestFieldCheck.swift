import CProtobufC
import MESDomain

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Checks the string and repeated fields of a request message on the wire, where their lengths
/// are. protobuf-c hands a string over NUL-terminated and without its length, so a NUL inside one
/// (legal UTF-8) would silently cut it: event id `id\0x` would be stored as `id`. This walk, run
/// after a successful unpack with the message's own descriptors, refuses such a string, and any
/// string or repeated field over its `FieldLimits`, naming the field path (`packed.contents[3].lot`).
enum RequestFieldCheck {
    /// Throws for the first string with a NUL or over its limit, or repeated field over its limit.
    static func check(_ bytes: UnsafeRawBufferPointer, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>)
        throws(MessageDecodingError)
    {
        var walk = Walk(bytes: bytes, root: descriptor)
        try walk.message(0..<bytes.count, descriptor, scope: 0, depth: 0) { "" }
    }

    /// One walk over one message's bytes.
    private struct Walk {
        let bytes: UnsafeRawBufferPointer
        let root: UnsafePointer<ProtobufCMessageDescriptor>
        /// Items seen per repeated field and message instance (`scope`): the occurrences of a
        /// non-repeated sub-message are one message after unpacking, so they share their parent's scope.
        var items: [ItemKey: Int] = [:]
        var scopes = 0

        struct ItemKey: Hashable {
            let field: UnsafeRawPointer
            let scope: Int
        }

        var malformed: MessageDecodingError { .malformed(String(cString: root.pointee.name)) }

        mutating func message(
            _ range: Range<Int>, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, scope: Int, depth: Int,
            path: () -> String
        ) throws(MessageDecodingError) {
            guard depth < 64 else { throw malformed }
            var i = range.lowerBound
            while i < range.upperBound {
                let tag = try varint(&i, range.upperBound)
                switch tag & 7 {
                case 0: _ = try varint(&i, range.upperBound)
                case 1: try skip(&i, 8, range.upperBound)
                case 5: try skip(&i, 4, range.upperBound)
                case 2:
                    let length = try varint(&i, range.upperBound)
                    guard length <= UInt64(range.upperBound - i) else { throw malformed }
                    let value = i..<(i + Int(length))
                    i = value.upperBound
                    guard let field = Self.field(UInt32(truncatingIfNeeded: tag >> 3), of: descriptor) else { continue }
                    try lengthDelimited(value, field, of: descriptor, scope: scope, depth: depth, path: path)
                default: throw malformed  // groups: protobuf-c refuses them before this walk
                }
            }
        }

        private mutating func lengthDelimited(
            _ value: Range<Int>, _ field: UnsafePointer<ProtobufCFieldDescriptor>,
            of descriptor: UnsafePointer<ProtobufCMessageDescriptor>, scope: Int, depth: Int, path: () -> String
        ) throws(MessageDecodingError) {
            let f = field.pointee
            guard f.type == PROTOBUF_C_TYPE_STRING || f.type == PROTOBUF_C_TYPE_MESSAGE else { return }
            func fieldPath() -> String {
                let name = String(cString: f.name)
                let parent = path()
                return parent.isEmpty ? name : "\(parent).\(name)"
            }
            var index: Int?
            if f.label == PROTOBUF_C_LABEL_REPEATED {
                let key = ItemKey(field: UnsafeRawPointer(field), scope: scope)
                let n = items[key, default: 0]
                items[key] = n + 1
                if n >= FieldLimits.smallestItems {
                    let limit = FieldLimits.maxItems(message: Self.name(descriptor), field: String(cString: f.name))
                    if n >= limit {
                        throw MessageDecodingError(field: fieldPath(), reason: "has more than \(limit) items")
                    }
                }
                index = n
            }
            let element = index
            func elementPath() -> String { element.map { "\(fieldPath())[\($0)]" } ?? fieldPath() }
            if f.type == PROTOBUF_C_TYPE_STRING {
                // count > 0: the buffer is not empty, so it has a base address.
                if value.count > 0, memchr(bytes.baseAddress! + value.lowerBound, 0, value.count) != nil {
                    throw MessageDecodingError(field: elementPath(), reason: "contains a NUL character")
                }
                if value.count > FieldLimits.smallestBytes {
                    let limit = FieldLimits.maxBytes(message: Self.name(descriptor), field: String(cString: f.name))
                    if value.count > limit {
                        throw MessageDecodingError(field: elementPath(), reason: "is longer than \(limit) bytes")
                    }
                }
            } else if let sub = f.descriptor?.assumingMemoryBound(to: ProtobufCMessageDescriptor.self) {
                var inner = scope
                if index != nil {
                    scopes += 1
                    inner = scopes
                }
                try message(value, sub, scope: inner, depth: depth + 1, path: elementPath)
            }
        }

        private func varint(_ i: inout Int, _ end: Int) throws(MessageDecodingError) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while i < end, shift < 64 {
                let byte = bytes[i]
                i += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            throw malformed
        }

        private func skip(_ i: inout Int, _ count: Int, _ end: Int) throws(MessageDecodingError) {
            guard end - i >= count else { throw malformed }
            i += count
        }

        private static func field(_ number: UInt32, of descriptor: UnsafePointer<ProtobufCMessageDescriptor>)
            -> UnsafePointer<ProtobufCFieldDescriptor>?
        {
            let d = descriptor.pointee
            for i in 0..<Int(d.n_fields) where d.fields[i].id == number { return d.fields + i }
            return nil
        }

        private static func name(_ descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> String {
            String(cString: descriptor.pointee.name)
        }
    }
}
