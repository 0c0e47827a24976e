"""grpc.reflection.v1alpha (through grpcio-reflection's descriptor database, as grpcurl-like
tools use it) and grpc.reflection.v1 (through stubs generated from proto/)."""

import grpc
import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from conftest import RPC_TIMEOUT_S

SERVICES = {
    "mes.v1.EventIngest",
    "mes.v1.Genealogy",
    "mes.v1.Quality",
    "mes.v1.WorkOrders",
    "mes.v1.MasterData",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
}

METHODS = {
    "mes.v1.EventIngest": {"Publish", "PublishStream", "ImportEPCIS", "Correct"},
    "mes.v1.Genealogy": {"Trace", "LotHistory", "Export"},
    "mes.v1.Quality": {"PlaceHold", "ReleaseHold"},
    "mes.v1.WorkOrders": {"Subscribe", "List"},
    "mes.v1.MasterData": {"Subscribe", "List"},
}


@pytest.fixture(scope="module")
def channel(server):
    ch = server.channel()
    yield ch
    ch.close()


def test_v1alpha_lists_services(channel):
    db = ProtoReflectionDescriptorDatabase(channel)
    services = set(db.get_services())
    assert SERVICES <= services, f"missing: {SERVICES - services}"


@pytest.mark.parametrize("service", sorted(METHODS))
def test_v1alpha_resolves_service_to_file_with_methods(channel, service):
    pool = DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
    svc = pool.FindServiceByName(service)
    assert {m.name for m in svc.methods} == METHODS[service]
    assert svc.file.package == "mes.v1"


def test_v1alpha_event_ingest_methods_have_the_contract_shapes(channel):
    pool = DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
    svc = pool.FindServiceByName("mes.v1.EventIngest")
    publish = svc.FindMethodByName("Publish")
    assert publish.input_type.full_name == "mes.v1.Event"
    assert publish.output_type.full_name == "mes.v1.Ack"
    stream = svc.FindMethodByName("PublishStream")
    assert stream.client_streaming and stream.server_streaming
    assert svc.file.name == "mes/v1/events.proto"
    # Dependencies resolve too (LotRef lives in common.proto).
    event = pool.FindMessageTypeByName("mes.v1.Event")
    assert event.fields_by_name["received"].message_type.fields_by_name["lot"].message_type.full_name == "mes.v1.LotRef"


def test_v1alpha_unknown_symbol_is_not_found(channel):
    db = ProtoReflectionDescriptorDatabase(channel)
    with pytest.raises(KeyError):
        db.FindFileContainingSymbol("no.such.Symbol")


# --------------------------------------------------------------------------- v1, generated stubs


def _v1_call(channel, pb, requests):
    r = pb.reflection_v1_pb2
    info = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=r.ServerReflectionRequest.SerializeToString,
        response_deserializer=r.ServerReflectionResponse.FromString,
    )
    return list(info(iter(requests), timeout=RPC_TIMEOUT_S))


def test_v1_list_services(channel, pb):
    r = pb.reflection_v1_pb2
    (resp,) = _v1_call(channel, pb, [r.ServerReflectionRequest(list_services="")])
    assert resp.WhichOneof("message_response") == "list_services_response", str(resp)
    names = {s.name for s in resp.list_services_response.service}
    assert SERVICES <= names, f"missing: {SERVICES - names}"


def test_v1_file_containing_symbol_and_by_filename(channel, pb):
    r = pb.reflection_v1_pb2
    resps = _v1_call(channel, pb, [
        r.ServerReflectionRequest(file_containing_symbol="mes.v1.EventIngest"),
        r.ServerReflectionRequest(file_containing_symbol="mes.v1.Ack"),
        r.ServerReflectionRequest(file_by_filename="mes/v1/common.proto"),
        r.ServerReflectionRequest(file_containing_symbol="no.such.Symbol"),
    ])
    assert len(resps) == 4, f"{len(resps)} responses for 4 requests"

    def files(resp):
        assert resp.WhichOneof("message_response") == "file_descriptor_response", str(resp)
        out = {}
        for raw in resp.file_descriptor_response.file_descriptor_proto:
            fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
            out[fd.name] = fd
        return out

    f0 = files(resps[0])
    assert "mes/v1/events.proto" in f0, sorted(f0)
    svc = next(s for s in f0["mes/v1/events.proto"].service if s.name == "EventIngest")
    assert {m.name for m in svc.method} == {"Publish", "PublishStream", "ImportEPCIS", "Correct"}
    assert "mes/v1/events.proto" in files(resps[1])
    assert "mes/v1/common.proto" in files(resps[2])
    assert resps[3].WhichOneof("message_response") == "error_response", str(resps[3])
    assert resps[3].error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
    assert resps[3].original_request.file_containing_symbol == "no.such.Symbol"
