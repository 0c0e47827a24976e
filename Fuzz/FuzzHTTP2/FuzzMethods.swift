import GRPCServer
import MESDomain
import MESMessages
import NIOCore

/// Every path mesgate serves, each with a stand-in handler that decodes its request messages with
/// the real codec and answers like the service would in shape (a message per request, or a
/// status), without a store.
enum FuzzMethods {
    static let all: [String: GRPCMethod] = Dictionary(
        uniqueKeysWithValues: [
            method("/mes.v1.EventIngest/Publish", .manual) { bytes in
                AckCodec.encode(Ack(eventID: (try EventCodec.decode(bytes)).eventID, result: .accepted))
            },
            method("/mes.v1.EventIngest/PublishStream", .manual) { bytes in
                AckCodec.encode(Ack(eventID: (try EventCodec.decode(bytes)).eventID, result: .accepted))
            },
            method("/mes.v1.EventIngest/ImportEPCIS") { bytes in
                _ = try EPCISImportCodec.decodeDocument(bytes)
                return EPCISImportCodec.encodeResult(EPCISImportResult())
            },
            method("/mes.v1.Genealogy/Trace") { bytes in
                _ = try TraceCodec.decodeRequest(bytes)
                return []
            },
            method("/mes.v1.Genealogy/LotHistory") { bytes in
                HistoryCodec.encodeLotRef(try HistoryCodec.decodeLotRef(bytes))
            },
            method("/mes.v1.Genealogy/Export") { bytes in
                _ = try ExportCodec.decodeRequest(bytes)
                return ExportCodec.encodeChunk([UInt8](repeating: 0x41, count: 100))
            },
            method("/mes.v1.Quality/PlaceHold") { bytes in
                HoldCodec.encodeResult([(try HoldCodec.decodeRequest(bytes)).lot])
            },
            method("/mes.v1.Quality/ReleaseHold") { bytes in
                HoldCodec.encodeResult([(try HoldCodec.decodeRequest(bytes)).lot])
            },
            method("/mes.v1.WorkOrders/List") { bytes in
                _ = try WorkOrderCodec.decodeFilter(bytes)
                return WorkOrderCodec.encodeList([])
            },
            method("/mes.v1.WorkOrders/Subscribe") { bytes in
                _ = try WorkOrderCodec.decodeFilter(bytes)
                return []
            },
            method("/grpc.health.v1.Health/Check") { bytes in
                _ = try HealthCodec.decodeRequest(bytes)
                return HealthCodec.response(.serving)
            },
            method("/grpc.health.v1.Health/Watch") { bytes in
                _ = try HealthCodec.decodeRequest(bytes)
                return HealthCodec.response(.serving)
            },
            method("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo") { bytes in
                let request = try ReflectionCodec.decodeRequest(bytes)
                return ReflectionCodec.encodeResponse(to: request, .services(["mes.v1.EventIngest"]))
            },
            method("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo") { bytes in
                let request = try ReflectionCodec.decodeRequest(bytes)
                return ReflectionCodec.encodeResponse(to: request, .error(code: 5, message: "not found"))
            },
        ].map { ($0.path, $0) })

    /// A method whose handler answers each request message with `answer(message)` (nothing when
    /// empty) and ends with OK when the client half-closes; a message `answer` cannot decode ends
    /// the call with INVALID_ARGUMENT, as the services do.
    static func method(
        _ path: String, _ flowControl: GRPCMethod.FlowControl = .automatic,
        answer: @escaping @Sendable (UnsafeRawBufferPointer) throws -> [UInt8]
    ) -> GRPCMethod {
        // As the services declare them: PublishStream and reflection take a stream of requests,
        // every other method exactly one.
        let streaming = path.hasSuffix("/PublishStream") || path.hasSuffix("/ServerReflectionInfo")
        return GRPCMethod(path: path, requests: streaming ? .stream : .one, flowControl: flowControl) { _, writer in
            FuzzCallHandler(writer: writer, manual: flowControl == .manual, answer: answer)
        }
    }
}

/// One call of a `FuzzMethods` method.
final class FuzzCallHandler: GRPCCallHandler {
    let writer: GRPCResponseWriter
    let manual: Bool
    let answer: (UnsafeRawBufferPointer) throws -> [UInt8]

    init(
        writer: GRPCResponseWriter, manual: Bool,
        answer: @escaping (UnsafeRawBufferPointer) throws -> [UInt8]
    ) {
        self.writer = writer
        self.manual = manual
        self.answer = answer
    }

    func receive(_ message: ByteBuffer) {
        do {
            let reply = try message.withUnsafeReadableBytes { bytes in try answer(bytes) }
            if !reply.isEmpty { writer.send(bytes: reply) }
            if manual { writer.releaseOldestMessage() }
        } catch {
            writer.finish(GRPCStatus(.invalidArgument, "\(error)"))
        }
    }

    func endOfInput() { writer.finish(.ok) }

    func cancelled() {}
}
