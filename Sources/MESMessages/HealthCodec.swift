import CProtobufC
import MESProtoC

/// `grpc.health.v1` request and response messages.
public enum HealthCodec {
    /// The serving states of `grpc.health.v1.HealthCheckResponse.ServingStatus`.
    public enum ServingStatus: UInt32, Sendable, CaseIterable {
        case unknown = 0, serving, notServing, serviceUnknown
    }

    /// The service name a `HealthCheckRequest` asks about ("" is the whole server).
    public static func decodeRequest(_ bytes: UnsafeRawBufferPointer) throws(MessageDecodingError) -> String {
        guard
            let message = grpc__health__v1__health_check_request__unpack(
                nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
        else { throw .malformed("grpc.health.v1.HealthCheckRequest") }
        defer { grpc__health__v1__health_check_request__free_unpacked(message, nil) }
        try RequestFieldCheck.check(bytes, message.pointee.base.descriptor)
        return try decodeString(message.pointee.service, field: "service")
    }

    /// The response for `status`, encoded once per status: a Check answers with one of four
    /// messages, so it need not encode (and allocate) one per call.
    public static func response(_ status: ServingStatus) -> [UInt8] {
        encodedResponses[Int(status.rawValue)]
    }

    private static let encodedResponses = ServingStatus.allCases.map(encodeResponse)

    private static func encodeResponse(_ status: ServingStatus) -> [UInt8] {
        var message = Grpc__Health__V1__HealthCheckResponse()
        grpc__health__v1__health_check_response__init(&message)
        message.status = Grpc__Health__V1__HealthCheckResponse__ServingStatus(rawValue: status.rawValue)
        return pack(&message.base)
    }
}
