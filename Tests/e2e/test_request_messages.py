"""One rule for every unary and server-streaming method: a call carries exactly one request
message. None (the client half-closes at once) or two end with INVALID_ARGUMENT and a message
saying so, never INTERNAL, never an answer to the first one, never a call left hanging.

grpcio's stream_unary / stream_stream multi-callables send what the iterator yields to any path,
so they send zero or two messages to methods whose stubs would send one."""

import grpc
import pytest

from conftest import RPC_TIMEOUT_S
from mesevents import event, lot


def requests(pb):
    """Each method with one valid request (bytes) and whether it streams its answer."""
    ref = lot("STEEL", "L-1")
    return {
        "/mes.v1.EventIngest/Publish": (event("received").SerializeToString(), False),
        "/mes.v1.EventIngest/ImportEPCIS": (pb.events_pb2.EPCISDocument(json=b"{}").SerializeToString(), False),
        "/mes.v1.Genealogy/Trace": (
            pb.genealogy_pb2.TraceRequest(lot=ref, direction=pb.common_pb2.FORWARD).SerializeToString(), False),
        "/mes.v1.Genealogy/LotHistory": (ref.SerializeToString(), True),
        "/mes.v1.Genealogy/Export": (
            pb.genealogy_pb2.ExportRequest(lot=ref, format=pb.genealogy_pb2.ExportRequest.DOT).SerializeToString(),
            True),
        "/mes.v1.Quality/PlaceHold": (pb.quality_pb2.HoldRequest(lot=ref, reason="r").SerializeToString(), False),
        "/mes.v1.Quality/ReleaseHold": (pb.quality_pb2.HoldRequest(lot=ref).SerializeToString(), False),
        "/mes.v1.WorkOrders/List": (b"", False),
        "/mes.v1.WorkOrders/Subscribe": (b"", True),
        "/grpc.health.v1.Health/Check": (b"", False),
        "/grpc.health.v1.Health/Watch": (b"", True),
    }


METHODS = [
    "/mes.v1.EventIngest/Publish", "/mes.v1.EventIngest/ImportEPCIS", "/mes.v1.Genealogy/Trace",
    "/mes.v1.Genealogy/LotHistory", "/mes.v1.Genealogy/Export", "/mes.v1.Quality/PlaceHold",
    "/mes.v1.Quality/ReleaseHold", "/mes.v1.WorkOrders/List", "/mes.v1.WorkOrders/Subscribe",
    "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
]


def call(channel, path, streaming, messages):
    """Sends `messages` (raw bytes) to `path`; returns the status code and details."""
    try:
        if streaming:
            rpc = channel.stream_stream(path, request_serializer=None, response_deserializer=None)
            list(rpc(iter(messages), timeout=RPC_TIMEOUT_S))
        else:
            rpc = channel.stream_unary(path, request_serializer=None, response_deserializer=None)
            rpc(iter(messages), timeout=RPC_TIMEOUT_S)
    except grpc.RpcError as e:
        return e.code(), e.details()
    return grpc.StatusCode.OK, ""


@pytest.mark.parametrize("path", METHODS)
def test_a_call_without_a_request_message_is_invalid_argument(server, pb, path):
    _, streaming = requests(pb)[path]
    with server.channel() as ch:
        code, details = call(ch, path, streaming, [])
    name = path.rsplit("/", 1)[1]
    assert (code, details) == (
        grpc.StatusCode.INVALID_ARGUMENT, f"{name} takes exactly one request message, and none came")


@pytest.mark.parametrize("path", METHODS)
def test_a_call_with_two_request_messages_is_invalid_argument(server, pb, path):
    message, streaming = requests(pb)[path]
    before = server.scalar("SELECT COUNT(*) FROM events")
    with server.channel() as ch:
        code, details = call(ch, path, streaming, [message, message])
    name = path.rsplit("/", 1)[1]
    assert (code, details) == (
        grpc.StatusCode.INVALID_ARGUMENT, f"{name} takes exactly one request message, not two or more")
    assert server.scalar("SELECT COUNT(*) FROM events") == before, "a request of a refused call was acted on"


def test_one_request_message_still_works_through_the_same_raw_calls(server, pb):
    with server.channel() as ch:
        code, details = call(ch, "/grpc.health.v1.Health/Check", False, [b""])
        assert code == grpc.StatusCode.OK, details
        code, details = call(ch, "/mes.v1.EventIngest/Publish", False, [event("received").SerializeToString()])
        assert code == grpc.StatusCode.OK, details
