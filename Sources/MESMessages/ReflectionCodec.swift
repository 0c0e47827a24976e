import CProtobufC
import MESProtoC

/// `grpc.reflection.v1` and `v1alpha` messages. The two versions are identical on the wire,
/// so both are read and written with the v1 protobuf-c code.
public enum ReflectionCodec {
    /// What a `ServerReflectionRequest` asks.
    public enum Query: Sendable, Hashable {
        case fileByFilename(String)
        case fileContainingSymbol(String)
        case fileContainingExtension(type: String, number: Int32)
        case allExtensionNumbersOfType(String)
        case listServices
        case none
    }

    public struct Request: Sendable, Hashable {
        public var host: String
        public var query: Query
    }

    /// What the server answers.
    public enum Answer: Sendable, Hashable {
        /// Serialized FileDescriptorProtos.
        case files([[UInt8]])
        case services([String])
        case extensionNumbers(type: String, numbers: [Int32])
        case error(code: Int32, message: String)
    }

    public static func decodeRequest(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> Request {
        guard
            let message = grpc__reflection__v1__server_reflection_request__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("grpc.reflection.v1.ServerReflectionRequest") }
        defer { grpc__reflection__v1__server_reflection_request__free_unpacked(message, nil) }
        try RequestFieldCheck.check(bytes, message.pointee.base.descriptor)
        let r = message.pointee
        let query: Query
        switch r.message_request_case {
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
            query = .fileByFilename(try decodeString(r.file_by_filename, field: "file_by_filename"))
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
            query = .fileContainingSymbol(try decodeString(r.file_containing_symbol, field: "file_containing_symbol"))
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
            let e = r.file_containing_extension?.pointee
            query = .fileContainingExtension(
                type: try decodeString(e?.containing_type, field: "file_containing_extension.containing_type"),
                number: e?.extension_number ?? 0)
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
            query = .allExtensionNumbersOfType(
                try decodeString(r.all_extension_numbers_of_type, field: "all_extension_numbers_of_type"))
        case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
            query = .listServices
        default:
            query = .none
        }
        return Request(host: try decodeString(r.host, field: "host"), query: query)
    }

    /// A `ServerReflectionResponse` echoing `request` with `answer`.
    public static func encodeResponse(to request: Request, _ answer: Answer) -> [UInt8] {
        var strings = [request.host]
        switch request.query {
        case .fileByFilename(let s), .fileContainingSymbol(let s), .allExtensionNumbersOfType(let s): strings.append(s)
        case .fileContainingExtension(let type, _): strings.append(type)
        case .listServices, .none: strings.append("")
        }
        switch answer {
        case .files: break
        case .services(let names): strings += names
        case .extensionNumbers(let type, _): strings.append(type)
        case .error(_, let message): strings.append(message)
        }
        return withCStrings(strings) { c in
            var original = Grpc__Reflection__V1__ServerReflectionRequest()
            grpc__reflection__v1__server_reflection_request__init(&original)
            var extensionRequest = Grpc__Reflection__V1__ExtensionRequest()
            grpc__reflection__v1__extension_request__init(&extensionRequest)
            original.host = c[0]
            return withUnsafeMutablePointer(to: &extensionRequest) { extensionPointer in
                switch request.query {
                case .fileByFilename:
                    original.message_request_case =
                        GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME
                    original.file_by_filename = c[1]
                case .fileContainingSymbol:
                    original.message_request_case =
                        GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL
                    original.file_containing_symbol = c[1]
                case .allExtensionNumbersOfType:
                    original.message_request_case =
                        GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE
                    original.all_extension_numbers_of_type = c[1]
                case .fileContainingExtension(_, let number):
                    original.message_request_case =
                        GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION
                    extensionPointer.pointee.containing_type = c[1]
                    extensionPointer.pointee.extension_number = number
                    original.file_containing_extension = extensionPointer
                case .listServices:
                    original.message_request_case =
                        GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES
                    original.list_services = c[1]
                case .none:
                    break
                }
                return withUnsafeMutablePointer(to: &original) { originalPointer in
                    encodeAnswer(answer, original: originalPointer, answerStrings: Array(c.dropFirst(2)))
                }
            }
        }
    }

    private static func encodeAnswer(
        _ answer: Answer, original: UnsafeMutablePointer<Grpc__Reflection__V1__ServerReflectionRequest>,
        answerStrings: [UnsafeMutablePointer<CChar>?]
    ) -> [UInt8] {
        var response = Grpc__Reflection__V1__ServerReflectionResponse()
        grpc__reflection__v1__server_reflection_response__init(&response)
        response.valid_host = original.pointee.host
        response.original_request = original
        switch answer {
        case .files(let files):
            var blobs = files.map { file -> ProtobufCBinaryData in
                let copy = UnsafeMutablePointer<UInt8>.allocate(capacity: max(file.count, 1))
                copy.initialize(from: file, count: file.count)
                return ProtobufCBinaryData(len: file.count, data: copy)
            }
            defer { blobs.forEach { $0.data.deallocate() } }
            var body = Grpc__Reflection__V1__FileDescriptorResponse()
            grpc__reflection__v1__file_descriptor_response__init(&body)
            return blobs.withUnsafeMutableBufferPointer { buffer in
                body.n_file_descriptor_proto = buffer.count
                body.file_descriptor_proto = buffer.baseAddress
                return withUnsafeMutablePointer(to: &body) { bodyPointer in
                    response.message_response_case =
                        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE
                    response.file_descriptor_response = bodyPointer
                    return pack(&response.base)
                }
            }
        case .services:
            var entries = answerStrings.map { name -> Grpc__Reflection__V1__ServiceResponse in
                var entry = Grpc__Reflection__V1__ServiceResponse()
                grpc__reflection__v1__service_response__init(&entry)
                entry.name = name
                return entry
            }
            return entries.withUnsafeMutableBufferPointer { entryBuffer in
                var pointers: [UnsafeMutablePointer<Grpc__Reflection__V1__ServiceResponse>?] =
                    (0..<entryBuffer.count).map { entryBuffer.baseAddress! + $0 }  // count > 0 implies a base address
                var body = Grpc__Reflection__V1__ListServiceResponse()
                grpc__reflection__v1__list_service_response__init(&body)
                return pointers.withUnsafeMutableBufferPointer { pointerBuffer in
                    body.n_service = pointerBuffer.count
                    body.service = pointerBuffer.baseAddress
                    return withUnsafeMutablePointer(to: &body) { bodyPointer in
                        response.message_response_case =
                            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE
                        response.list_services_response = bodyPointer
                        return pack(&response.base)
                    }
                }
            }
        case .extensionNumbers(_, let numbers):
            var body = Grpc__Reflection__V1__ExtensionNumberResponse()
            grpc__reflection__v1__extension_number_response__init(&body)
            body.base_type_name = answerStrings[0]
            var values = numbers
            return values.withUnsafeMutableBufferPointer { buffer in
                body.n_extension_number = buffer.count
                body.extension_number = buffer.baseAddress
                return withUnsafeMutablePointer(to: &body) { bodyPointer in
                    response.message_response_case =
                        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE
                    response.all_extension_numbers_response = bodyPointer
                    return pack(&response.base)
                }
            }
        case .error(let code, _):
            var body = Grpc__Reflection__V1__ErrorResponse()
            grpc__reflection__v1__error_response__init(&body)
            body.error_code = code
            body.error_message = answerStrings[0]
            return withUnsafeMutablePointer(to: &body) { bodyPointer in
                response.message_response_case =
                    GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE
                response.error_response = bodyPointer
                return pack(&response.base)
            }
        }
    }
}
