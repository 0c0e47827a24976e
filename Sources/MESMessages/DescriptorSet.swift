import CProtobufC
import MESProtoC

/// The `.proto` files of this build as reflection serves them: decoded once from the
/// FileDescriptorSet that `proto/generate.sh` embeds (protoc --include_imports).
public struct DescriptorSet: Sendable {
    /// One `.proto` file.
    public struct File: Sendable {
        public var name: String
        public var package: String
        public var dependencies: [String]
        /// Fully qualified services, e.g. `mes.v1.EventIngest`.
        public var services: [String]
        /// Every fully qualified symbol the file defines: services, methods, messages, enums (nested too).
        public var symbols: [String]
        /// The serialized `google.protobuf.FileDescriptorProto`.
        public var serialized: [UInt8]
    }

    public var files: [File]

    /// The descriptor set embedded in this build.
    public static func embedded() throws(MessageDecodingError) -> DescriptorSet {
        try decode(UnsafeRawBufferPointer(start: mes_descriptor_set_bytes(), count: mes_descriptor_set_size()))
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> DescriptorSet {
        guard
            let set = google__protobuf__file_descriptor_set__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("google.protobuf.FileDescriptorSet") }
        defer { google__protobuf__file_descriptor_set__free_unpacked(set, nil) }
        var files: [File] = []
        for i in 0..<set.pointee.n_file {
            guard let file = set.pointee.file[i] else { continue }
            files.append(try self.file(file))
        }
        return DescriptorSet(files: files)
    }

    private static func file(_ pointer: UnsafeMutablePointer<Google__Protobuf__FileDescriptorProto>)
        throws(MessageDecodingError) -> File
    {
        let f = pointer.pointee
        let package = try decodeString(f.package, field: "package")
        let prefix = package.isEmpty ? "" : package + "."
        var dependencies: [String] = []
        for i in 0..<f.n_dependency { dependencies.append(try decodeString(f.dependency[i], field: "dependency")) }
        var services: [String] = []
        var symbols: [String] = []
        for i in 0..<f.n_service {
            guard let s = f.service[i]?.pointee else { continue }
            let name = prefix + (try decodeString(s.name, field: "service.name"))
            services.append(name)
            symbols.append(name)
            for m in 0..<s.n_method {
                guard let method = s.method[m]?.pointee else { continue }
                symbols.append(name + "." + (try decodeString(method.name, field: "method.name")))
            }
        }
        for i in 0..<f.n_message_type {
            guard let m = f.message_type[i] else { continue }
            try collect(message: m, prefix: prefix, into: &symbols)
        }
        for i in 0..<f.n_enum_type {
            guard let e = f.enum_type[i]?.pointee else { continue }
            symbols.append(prefix + (try decodeString(e.name, field: "enum.name")))
        }
        return File(
            name: try decodeString(f.name, field: "name"), package: package, dependencies: dependencies,
            services: services, symbols: symbols, serialized: pack(&pointer.pointee.base))
    }

    private static func collect(
        message pointer: UnsafeMutablePointer<Google__Protobuf__DescriptorProto>, prefix: String,
        into symbols: inout [String]
    ) throws(MessageDecodingError) {
        let m = pointer.pointee
        let name = prefix + (try decodeString(m.name, field: "message.name"))
        symbols.append(name)
        for i in 0..<m.n_nested_type {
            guard let nested = m.nested_type[i] else { continue }
            try collect(message: nested, prefix: name + ".", into: &symbols)
        }
        for i in 0..<m.n_enum_type {
            guard let e = m.enum_type[i]?.pointee else { continue }
            symbols.append(name + "." + (try decodeString(e.name, field: "enum.name")))
        }
    }
}
