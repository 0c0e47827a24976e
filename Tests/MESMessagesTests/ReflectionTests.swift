import Testing

@testable import MESMessages

@Test func embeddedDescriptorSetHasEveryContractService() throws {
    let set = try DescriptorSet.embedded()
    let services = Set(set.files.flatMap(\.services))
    for name in [
        "mes.v1.EventIngest", "mes.v1.Genealogy", "mes.v1.Quality", "mes.v1.WorkOrders", "mes.v1.MasterData",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
    ] {
        #expect(services.contains(name), "missing \(name)")
    }
    let events = try #require(set.files.first { $0.name == "mes/v1/events.proto" })
    #expect(events.dependencies == ["mes/v1/common.proto"])
    #expect(events.symbols.contains("mes.v1.EventIngest.PublishStream"))
    #expect(events.symbols.contains("mes.v1.OperationReported.State"))
    #expect(events.symbols.contains("mes.v1.QualityResult.Measurement"))
}

@Test func reflectionResponseEchoesTheRequest() throws {
    var w = WireWriter()
    w.string(1, "localhost")
    w.string(4, "mes.v1.Event")
    let request = try w.bytes.withUnsafeBytes { try ReflectionCodec.decodeRequest($0) }
    #expect(request == .init(host: "localhost", query: .fileContainingSymbol("mes.v1.Event")))
    let bytes = ReflectionCodec.encodeResponse(to: request, .services(["a.B", "c.D"]))
    // valid_host (1), original_request (2) holding the request as sent, list_services_response (6).
    var expected = WireWriter()
    expected.string(1, "localhost")
    expected.bytesField(2, w.bytes)
    expected.message(6) { list in
        list.message(1) { $0.string(1, "a.B") }
        list.message(1) { $0.string(1, "c.D") }
    }
    #expect(bytes == expected.bytes)
}
