"""Issue 7 through real clients: TLS with ALPN h2 (grpcio and Python's ssl against a test CA
made by deploy/make-test-ca.sh), tokens and roles, token rotation by SIGHUP while a stream is
open, failed attempts rate-limited, JSON logs without secrets."""

from __future__ import annotations

import json
import queue
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import CHANNEL_OPTIONS, REPO, RPC_TIMEOUT_S, Server, ServerStartError, status_code, token_line
from mesevents import event

ROLES = ("mes", "quality", "auditor", "admin")



def bearer(token: str):
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ca")
    subprocess.run([str(REPO / "deploy" / "make-test-ca.sh"), str(out)], check=True, capture_output=True, timeout=60)
    return out


class TLSServer(Server):
    """A server on TLS: waits for SERVING through a TLS channel trusting the test CA."""

    def __init__(self, *args, ca: Path, client_cert: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.ca = ca
        self.client_cert = client_cert

    def credentials(self, with_client_cert: bool | None = None) -> grpc.ChannelCredentials:
        use = self.client_cert if with_client_cert is None else with_client_cert
        return grpc.ssl_channel_credentials(
            root_certificates=(self.ca / "ca.pem").read_bytes(),
            private_key=(self.ca / "client.key").read_bytes() if use else None,
            certificate_chain=(self.ca / "client.pem").read_bytes() if use else None,
        )

    def channel(self, **kwargs) -> grpc.Channel:
        options = list(CHANNEL_OPTIONS) + list(kwargs.pop("options", []))
        return grpc.secure_channel(self.address, self.credentials(kwargs.pop("with_client_cert", None)),
                                   options=options, **kwargs)

    def wait_serving(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(f"mesgate exited {self.proc.returncode}; stderr:\n{self.stderr_tail()}")
            try:
                with self.channel() as ch:
                    r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                    if r.status == health_pb2.HealthCheckResponse.SERVING:
                        return
            except grpc.RpcError as e:
                last = f"{e.code()}: {e.details()}"
            time.sleep(0.1)
        self.kill()
        raise ServerStartError(f"not SERVING over TLS after {timeout}s ({last}); stderr:\n{self.stderr_tail()}")


def tls_server(binary, tmp_path, ca, client_ca=False, extra=()) -> TLSServer:
    args = ["--tls-cert", str(ca / "server.pem"), "--tls-key", str(ca / "server.key"), *extra]
    if client_ca:
        args += ["--tls-client-ca", str(ca / "ca.pem")]
    srv = TLSServer(binary, tmp_path / "data", tmp_path / "logs", extra_args=args, ca=ca, client_cert=client_ca)
    return srv.start()


# ------------------------------------------------------------------------------------------ TLS


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_with_alpn_h2_through_grpcio(binary, tmp_path, test_ca, pb):
    srv = tls_server(binary, tmp_path, test_ca)
    try:
        with srv.channel() as ch:
            ack = pb.events_pb2_grpc.EventIngestStub(ch).Publish(event("received"), timeout=RPC_TIMEOUT_S)
        assert ack.result == pb.events_pb2.Ack.ACCEPTED

        # The negotiated protocol is h2, over TLS 1.2 or later, with a certificate the CA signed.
        context = ssl.create_default_context(cafile=str(test_ca / "ca.pem"))
        context.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.selected_alpn_protocol() == "h2"
                assert tls.version() in ("TLSv1.2", "TLSv1.3")

        # TLS 1.1 is refused.
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        try:
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
            old.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            pytest.skip("this Python's OpenSSL cannot offer TLS 1.1")
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as raw:
            with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
                old.wrap_socket(raw).do_handshake()

        # A plaintext (h2c) client gets nowhere on the TLS port.
        with grpc.insecure_channel(srv.address) as ch:
            with pytest.raises(grpc.RpcError) as info:
                health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=3)
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        assert srv.stop() == 0
    finally:
        srv.stop()


def test_tls_client_certificates_are_required_with_a_client_ca(binary, tmp_path, test_ca, pb):
    srv = tls_server(binary, tmp_path, test_ca, client_ca=True)
    try:
        with srv.channel(with_client_cert=True) as ch:
            e = event("received")
            ack = pb.events_pb2_grpc.EventIngestStub(ch).Publish(e, timeout=RPC_TIMEOUT_S)
            assert ack.result == pb.events_pb2.Ack.ACCEPTED
            # Without a token the client is named by its certificate's subject, not its address.
            assert srv.scalar("SELECT client FROM events WHERE event_id = ?", (e.event_id,)) == "CN=mes-client"
            pb.quality_pb2_grpc.QualityStub(ch).PlaceHold(
                pb.quality_pb2.HoldRequest(lot=e.received.lot, reason="check"), timeout=RPC_TIMEOUT_S)
            assert srv.scalar("SELECT placed_by FROM holds") == "CN=mes-client"
        with srv.channel(with_client_cert=False) as ch:
            with pytest.raises(grpc.RpcError) as info:
                health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        srv.stop()


def test_tls_needs_both_cert_and_key(binary, tmp_path, test_ca):
    r = subprocess.run([str(binary), "serve", "--data", str(tmp_path / "d"), "--tls-cert", str(test_ca / "server.pem")],
                       capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and "tls-key" in r.stderr, r.stderr


def test_the_cli_calls_a_tls_server_with_its_ca_and_client_certificate(binary, tmp_path, test_ca, pb):
    """`--ca`, `--cert` and `--key` let every `--server` command reach a TLS port that asks for client
    certificates; without the certificate, or without trusting the CA, the CLI says why and stops."""
    srv = tls_server(binary, tmp_path, test_ca, client_ca=True)
    try:
        tag = "tlscli"
        with srv.channel(with_client_cert=True) as ch:
            ack = pb.events_pb2_grpc.EventIngestStub(ch).Publish(event("received", tag=tag), timeout=RPC_TIMEOUT_S)
            assert ack.result == pb.events_pb2.Ack.ACCEPTED

        def trace(*tls: str, host: str = "localhost") -> subprocess.CompletedProcess:
            return subprocess.run([str(binary), "trace", "--server", f"{host}:{srv.port}", "--product", "STEEL-S235",
                                   "--lot", f"S-{tag}", "--timeout-seconds", "10", *tls],
                                  capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)

        ok = trace("--ca", str(test_ca / "ca.pem"), "--cert", str(test_ca / "client.pem"),
                   "--key", str(test_ca / "client.key"))
        assert ok.returncode == 0, ok.stderr
        assert f"from STEEL-S235 lot S-{tag}" in ok.stdout and "1 nodes" in ok.stdout, ok.stdout

        no_cert = trace("--ca", str(test_ca / "ca.pem"))
        assert no_cert.returncode != 0
        assert "TLS with" in no_cert.stderr and "--cert and --key" in no_cert.stderr, no_cert.stderr

        untrusted = trace("--tls")  # the system's CAs do not know the test CA
        assert untrusted.returncode != 0
        assert "not signed by a CA this command trusts (give that CA with --ca)" in untrusted.stderr, untrusted.stderr

        # h2c against a TLS port: a deadline and a hint, not a hang. (By address: the name plays no
        # part here. The "notFound" once seen here in a loaded full run was not the name: the port
        # hung up before the client had looked up its handler, fixed in GRPCClient.open.)
        plain = trace(host="127.0.0.1")
        assert plain.returncode != 0
        assert "--ca or --tls" in plain.stderr, plain.stderr

        half = trace("--cert", str(test_ca / "client.pem"))
        assert half.returncode != 0 and "--cert and --key go together" in half.stderr, half.stderr
        local = subprocess.run([str(binary), "trace", "--data", str(tmp_path / "d"), "--ca", str(test_ca / "ca.pem"),
                                "--container", "X"], capture_output=True, text=True, timeout=60)
        assert local.returncode != 0 and "TLS options go with --server" in local.stderr, local.stderr
    finally:
        srv.stop()


# ------------------------------------------------------------------------------------------ tokens and roles


@pytest.fixture(scope="module")
def authed(binary, tmp_path_factory):
    base = tmp_path_factory.mktemp("authed")
    tokens = base / "tokens"
    tokens.write_text("# clients of the test plant\n" + "".join(token_line(f"{r}-client", r, f"{r}-token") for r in ROLES)
                      + token_line("mes-client", "mes", "mes-token-2"))
    srv = Server(binary, base / "data", base / "logs", extra_args=["--tokens", str(tokens), "--log-format", "json"])
    try:
        srv.start()
    except ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    yield srv
    srv.stop()


def _publish(srv, pb, token=None, ev=None):
    with srv.channel() as ch:
        return pb.events_pb2_grpc.EventIngestStub(ch).Publish(
            ev or event("received"), metadata=bearer(token) if token else None, timeout=RPC_TIMEOUT_S)


@pytest.mark.parametrize("role,allowed", [("mes", True), ("quality", False), ("auditor", False), ("admin", True)])
def test_each_role_publishing(authed, pb, role, allowed):
    ev = event("received")
    code = status_code(lambda: _publish(authed, pb, f"{role}-token", ev))
    assert code == (grpc.StatusCode.OK if allowed else grpc.StatusCode.PERMISSION_DENIED), code
    stored = authed.query("SELECT client FROM events WHERE event_id = ?", (ev.event_id,))
    # The token's client name, not the peer address, is the event's client.
    assert stored == ([(f"{role}-client",)] if allowed else [])


@pytest.mark.parametrize("role", ROLES)
def test_each_role_streaming(authed, pb, role):
    evs = [event("received") for _ in range(3)]
    with authed.channel() as ch:
        stub = pb.events_pb2_grpc.EventIngestStub(ch)
        code = status_code(lambda: list(stub.PublishStream(iter(evs), metadata=bearer(f"{role}-token"), timeout=RPC_TIMEOUT_S)))
    assert code == (grpc.StatusCode.OK if role in ("mes", "admin") else grpc.StatusCode.PERMISSION_DENIED)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_use_health_and_reflection(authed, pb, role):
    with authed.channel() as ch:
        r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), metadata=bearer(f"{role}-token"),
                                                 timeout=RPC_TIMEOUT_S)
        assert r.status == health_pb2.HealthCheckResponse.SERVING


def test_no_or_bad_token_is_unauthenticated_but_health_and_reflection_are_open(authed, pb):
    assert status_code(lambda: _publish(authed, pb)) == grpc.StatusCode.UNAUTHENTICATED
    assert status_code(lambda: _publish(authed, pb, "not-a-token")) == grpc.StatusCode.UNAUTHENTICATED
    with authed.channel() as ch:
        r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=RPC_TIMEOUT_S)
        assert r.status == health_pb2.HealthCheckResponse.SERVING
        refl = pb.reflection_v1_pb2
        call = ch.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                                request_serializer=refl.ServerReflectionRequest.SerializeToString,
                                response_deserializer=refl.ServerReflectionResponse.FromString)
        answers = list(call(iter([refl.ServerReflectionRequest(list_services="")]), timeout=RPC_TIMEOUT_S))
        names = {s.name for s in answers[0].list_services_response.service}
        assert "mes.v1.EventIngest" in names


def test_a_client_may_hold_several_tokens(authed, pb):
    assert _publish(authed, pb, "mes-token").result == pb.events_pb2.Ack.ACCEPTED
    assert _publish(authed, pb, "mes-token-2").result == pb.events_pb2.Ack.ACCEPTED


def test_logs_are_json_with_request_ids_and_never_tokens(authed, pb):
    secret = "very-secret-token-7f3a"
    status_code(lambda: _publish(authed, pb, secret))
    ev = event("received")
    ev.operator_id = "payload-marker-91c2"
    _publish(authed, pb, "mes-token", ev)
    time.sleep(0.3)
    text = authed.stderr_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is one JSON object
    assert all({"ts", "level", "msg"} <= set(line) for line in lines)
    failures = [line for line in lines if line["msg"] == "auth.failed"]
    assert failures and all(f.get("request_id") for f in failures), failures
    assert secret not in text and "mes-token" not in text and "payload-marker-91c2" not in text


def test_failed_attempts_are_rate_limited_per_peer(server_factory, tmp_path, pb):
    tokens = tmp_path / "tokens"
    tokens.write_text(token_line("line-1", "mes", "good") + token_line("line-2", "mes", "other-good"))
    srv = server_factory(extra_args=["--tokens", str(tokens)])
    assert _publish(srv, pb, "good").result == pb.events_pb2.Ack.ACCEPTED  # line 1 runs behind the same NAT
    codes = [status_code(lambda: _publish(srv, pb, f"guess-{i}")) for i in range(10)]
    assert set(codes) == {grpc.StatusCode.UNAUTHENTICATED}
    # The 11th guess within the minute is refused, and so is a credential never used from here ...
    assert status_code(lambda: _publish(srv, pb, "guess-11")) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert status_code(lambda: _publish(srv, pb, "other-good")) == grpc.StatusCode.RESOURCE_EXHAUSTED
    # ... but the line that authenticated from this address before goes on publishing.
    for _ in range(3):
        assert _publish(srv, pb, "good").result == pb.events_pb2.Ack.ACCEPTED
    text = srv.stderr_path.read_text()
    assert text.count("auth.failed") >= 12


# ------------------------------------------------------------------------------------------ SIGHUP rotation


def test_token_rotation_by_sighup_while_a_stream_is_open(server_factory, tmp_path, pb):
    tokens = tmp_path / "tokens"
    tokens.write_text(token_line("line-1", "mes", "old-token"))
    srv = server_factory(extra_args=["--tokens", str(tokens)])
    outbox: queue.Queue = queue.Queue()

    def requests():
        while True:
            item = outbox.get()
            if item is None:
                return
            yield item

    with srv.channel() as ch:
        stub = pb.events_pb2_grpc.EventIngestStub(ch)
        acks = stub.PublishStream(requests(), metadata=bearer("old-token"), timeout=60)
        first = event("received")
        outbox.put(first)
        assert next(acks).result == pb.events_pb2.Ack.ACCEPTED

        # Rotate: the old token goes, a new one comes; the server is told by SIGHUP.
        tokens.write_text(token_line("line-1", "mes", "new-token"))
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "auth.tokens.reloaded" not in srv.stderr_path.read_text():
            assert time.monotonic() < deadline, "no reload logged"
            time.sleep(0.05)
        assert srv.alive()

        # New calls on the same connection see the new table ...
        assert status_code(lambda: stub.Publish(event("received"), metadata=bearer("old-token"), timeout=5)) \
            == grpc.StatusCode.UNAUTHENTICATED
        assert stub.Publish(event("received"), metadata=bearer("new-token"), timeout=5).result \
            == pb.events_pb2.Ack.ACCEPTED
        # ... while the stream admitted with the old token goes on undisturbed.
        later = [event("received") for _ in range(5)]
        for e in later:
            outbox.put(e)
        outbox.put(None)
        rest = list(acks)
        assert [a.event_id for a in rest] == [e.event_id for e in later]
        assert all(a.result == pb.events_pb2.Ack.ACCEPTED for a in rest)
    clients = srv.query("SELECT DISTINCT client FROM events")
    assert clients == [("line-1",)]

    # A broken file is refused and the current table stays.
    tokens.write_text("line-1 boss sha256:00\n")
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "auth.tokens.reload_failed" not in srv.stderr_path.read_text():
        assert time.monotonic() < deadline, "no reload failure logged"
        time.sleep(0.05)
    assert _publish(srv, pb, "new-token").result == pb.events_pb2.Ack.ACCEPTED


def test_without_a_token_file_the_log_says_so_loudly(server_factory, pb):
    srv = server_factory()
    assert _publish(srv, pb).result == pb.events_pb2.Ack.ACCEPTED
    assert "NO TOKEN FILE" in srv.stderr_path.read_text()
    srv.proc.send_signal(signal.SIGHUP)  # trapped: does not kill the server
    time.sleep(0.5)
    assert srv.alive()


# ------------------------------------------------------------------------------------------ SIGTERM during a stream


def test_sigterm_during_a_stream_loses_no_acked_event(server_factory, pb):
    srv = server_factory(extra_args=["--shutdown-grace-seconds", "3"])
    sent: list[str] = []
    stop = threading.Event()

    def requests():
        i = 0
        while not stop.is_set() and i < 100_000:
            e = event("received")
            sent.append(e.event_id)
            i += 1
            yield e
            if i % 50 == 0:
                time.sleep(0.005)

    acked: list[str] = []
    error: list[grpc.RpcError] = []

    def consume():
        with srv.channel() as ch:
            try:
                for ack in pb.events_pb2_grpc.EventIngestStub(ch).PublishStream(requests(), timeout=60):
                    if ack.result in (pb.events_pb2.Ack.ACCEPTED, pb.events_pb2.Ack.DUPLICATE):
                        acked.append(ack.event_id)
            except grpc.RpcError as e:
                error.append(e)
            finally:
                stop.set()

    reader = threading.Thread(target=consume)
    reader.start()
    deadline = time.monotonic() + 20
    while len(acked) < 300:
        assert time.monotonic() < deadline, f"only {len(acked)} acks"
        time.sleep(0.01)
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=20) == 0
    stop.set()
    reader.join(timeout=20)
    assert len(acked) >= 300
    stored = {r[0] for r in srv.query("SELECT event_id FROM events")}
    missing = [a for a in acked if a not in stored]
    assert not missing, f"{len(missing)} acked events are not stored"
    print(f"acked {len(acked)} of {len(sent)} sent before shutdown; all stored; stream ended with "
          f"{error[0].code() if error else 'OK'}")


# Every method of DESIGN.md's contract and the roles that may call it (admin may call all).
CONTRACT = {
    "/mes.v1.EventIngest/Publish": ("unary", {"mes"}),
    "/mes.v1.WorkOrders/List": ("unary", {"mes"}),
    "/mes.v1.WorkOrders/Subscribe": ("stream", {"mes"}),
    "/mes.v1.Genealogy/Trace": ("unary", {"quality", "auditor"}),
    "/mes.v1.Genealogy/LotHistory": ("stream", {"auditor"}),
    "/mes.v1.Genealogy/Export": ("stream", {"auditor"}),
    "/mes.v1.Quality/PlaceHold": ("unary", {"quality"}),
    "/mes.v1.Quality/ReleaseHold": ("unary", {"quality"}),
}


def _call(ch, path: str, shape: str, token: str) -> grpc.RpcError | None:
    """Calls `path` with an empty request; the error, or None when it succeeded."""
    raw = dict(request_serializer=lambda b: b, response_deserializer=lambda b: b)
    try:
        if shape == "unary":
            ch.unary_unary(path, **raw)(b"", metadata=bearer(token), timeout=2)
        else:
            list(ch.unary_stream(path, **raw)(b"", metadata=bearer(token), timeout=2))
    except grpc.RpcError as e:
        return e
    return None


@pytest.mark.parametrize("role", ROLES)
def test_each_role_against_the_whole_contract(authed, pb, role):
    """Refused calls get PERMISSION_DENIED; allowed ones get past the guard (their answer to an
    empty request is the method's business). Methods this build does not route yet answer
    UNIMPLEMENTED ("unknown method") before any check; they are reported, not judged."""
    judged = []
    with authed.channel() as ch:
        for path, (shape, roles) in CONTRACT.items():
            error = _call(ch, path, shape, f"{role}-token")
            code = error.code() if error else grpc.StatusCode.OK
            if code == grpc.StatusCode.UNIMPLEMENTED and "unknown method" in error.details():
                continue
            judged.append(path)
            if role == "admin" or role in roles:
                assert code not in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED), (path, code)
            else:
                assert code == grpc.StatusCode.PERMISSION_DENIED, (path, code)
    assert "/mes.v1.EventIngest/Publish" in judged
    print(f"{role}: checked {len(judged)} of {len(CONTRACT)} contract methods (the others are not routed yet)")
