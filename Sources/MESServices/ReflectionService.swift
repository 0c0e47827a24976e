import GRPCServer
import MESMessages
import NIOCore

/// `grpc.reflection.v1` and `v1alpha` ServerReflectionInfo, answered from the descriptor set
/// embedded at build time, so grpcurl-style tools can list and call the services.
public struct ReflectionService: Sendable {
    private let files: [String: DescriptorSet.File]
    private let fileBySymbol: [String: String]
    private let services: [String]

    public init(descriptors: DescriptorSet) {
        var files: [String: DescriptorSet.File] = [:]
        var fileBySymbol: [String: String] = [:]
        for file in descriptors.files {
            files[file.name] = file
            for symbol in file.symbols { fileBySymbol[symbol] = file.name }
        }
        self.files = files
        self.fileBySymbol = fileBySymbol
        self.services = descriptors.files.flatMap(\.services).sorted()
    }

    public var methods: [GRPCMethod] {
        ["grpc.reflection.v1", "grpc.reflection.v1alpha"].map { package in
            GRPCMethod(path: "/\(package).ServerReflection/ServerReflectionInfo", requests: .stream) { _, writer in
                ReflectionHandler(service: self, writer: writer)
            }
        }
    }

    /// The answer to one request.
    func answer(_ query: ReflectionCodec.Query) -> ReflectionCodec.Answer {
        switch query {
        case .listServices:
            return .services(services)
        case .fileByFilename(let name):
            guard files[name] != nil else { return .error(code: 5, message: "file not found: \(name)") }
            return .files(withDependencies(name))
        case .fileContainingSymbol(let symbol):
            let trimmed = symbol.hasPrefix(".") ? String(symbol.dropFirst()) : symbol
            guard let name = fileBySymbol[trimmed] else {
                return .error(code: 5, message: "symbol not found: \(symbol)")
            }
            return .files(withDependencies(name))
        case .fileContainingExtension(let type, let number):
            return .error(code: 5, message: "extension \(number) of \(type) not found: these protos declare none")
        case .allExtensionNumbersOfType(let type):
            guard fileBySymbol[type] != nil else { return .error(code: 5, message: "type not found: \(type)") }
            return .extensionNumbers(type: type, numbers: [])
        case .none:
            return .error(code: 3, message: "the request names no question")
        }
    }

    /// The file and every file it imports, transitively, the file itself first.
    private func withDependencies(_ name: String) -> [[UInt8]] {
        var seen: Set<String> = []
        var order: [String] = []
        var stack = [name]
        while let next = stack.popLast() {
            guard seen.insert(next).inserted, let file = files[next] else { continue }
            order.append(next)
            stack.append(contentsOf: file.dependencies.reversed())
        }
        return order.compactMap { files[$0]?.serialized }
    }
}

/// One ServerReflectionInfo stream: one response per request.
final class ReflectionHandler: GRPCCallHandler {
    private let service: ReflectionService
    private let writer: GRPCResponseWriter

    init(service: ReflectionService, writer: GRPCResponseWriter) {
        self.service = service
        self.writer = writer
    }

    func receive(_ message: ByteBuffer) {
        guard !writer.isFinished else { return }
        do {
            let request = try message.withUnsafeReadableBytes { bytes throws(MessageDecodingError) in
                try ReflectionCodec.decodeRequest(bytes)
            }
            let answer = service.answer(request.query)
            writer.send(ByteBuffer(bytes: ReflectionCodec.encodeResponse(to: request, answer)))
        } catch {
            writer.finish(GRPCStatus(.invalidArgument, "\(error)"))
        }
    }

    func endOfInput() {
        writer.finish(.ok)
    }

    func cancelled() {}
}
