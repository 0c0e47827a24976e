"""`mesgate serve` as an operator meets it: options, env vars, config file, bad config, busy
port, SIGTERM, durability settings and the message size limit."""

import json
import os
import socket
import struct
import subprocess
import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import RPC_TIMEOUT_S, free_port
from mesevents import event

EXIT_TIMEOUT_S = 10


def _run_to_exit(binary, args, env=None, cwd=None):
    """Runs mesgate expecting it to exit by itself (a refused configuration)."""
    try:
        return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=EXIT_TIMEOUT_S,
                              env={**os.environ, **(env or {})}, cwd=cwd, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:  # run() has killed it
        pytest.fail(f"`mesgate {' '.join(args)}` still running after {EXIT_TIMEOUT_S}s instead of refusing to start;"
                    f" stderr: {(e.stderr or b'')[-500:]!r}", pytrace=False)


def _publish_one(srv, pb, size_pad=0):
    with srv.channel() as ch:
        e = event("downtime")
        e.downtime.reason += "p" * size_pad  # free text: up to 4 KiB (FieldLimits)
        return pb.events_pb2_grpc.EventIngestStub(ch).Publish(e, timeout=RPC_TIMEOUT_S)


def test_busy_port_exits_non_zero_with_a_clear_line(binary, tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = _run_to_exit(binary, ["serve", "--listen", f"127.0.0.1:{port}", "--data", str(tmp_path / "d")])
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines, "no message on stderr"
    assert any(str(port) in ln for ln in lines), f"no line names the port {port}:\n{r.stderr}"


@pytest.mark.parametrize(
    "config,mentions",
    [
        ('{"listen": ', "mesgate.json"),
        ('{"listen": 42}', "listen"),
        ('{"listen": "not-a-host-port"}', "listen"),
        ('{"sync": "sometimes"}', "sync"),
        ('{"bogus": 1}', "bogus"),
        ('{"replicate": "nats://127.0.0.1:4222"}', "replicate needs plant"),
        ('{"replicate": "http://127.0.0.1:4222", "plant": "A"}', "replicate must be nats://HOST:PORT"),
        ('{"replicate": "nats://127.0.0.1:4222", "plant": "a.b"}', "plant: plant name \"a.b\" must be"),
        ('{"plant": "A"}', "plant goes with replicate"),
        ('{"replicate": "nats://127.0.0.1:4222", "plant": "A", "hub-domain": "a.b"}', "hub-domain must be a JetStream domain"),
        ('{"hold-on-quality-fail": "yes"}', "hold-on-quality-fail must be true or false"),
    ],
    ids=["truncated-json", "listen-not-a-string", "listen-not-host-port", "sync-unknown", "unknown-key",
         "replicate-without-plant", "replicate-not-nats", "plant-not-a-subject-token", "plant-without-replicate",
         "hub-domain-not-a-domain",
         "boolean-not-true-or-false"],
)
def test_bad_config_file_exits_non_zero(binary, tmp_path, config, mentions):
    cfg = tmp_path / "mesgate.json"
    cfg.write_text(config)
    r = _run_to_exit(binary, ["serve", "--config", str(cfg), "--data", str(tmp_path / "d")])
    assert r.returncode != 0, f"started with config {config!r}"
    assert r.stderr.strip(), "no message on stderr"
    assert len(r.stderr.strip().splitlines()) <= 3, f"not one clear line:\n{r.stderr}"
    # Names what is wrong (and so is not, say, a busy default port).
    assert mentions in r.stderr, f"stderr does not mention {mentions!r}:\n{r.stderr}"


@pytest.mark.parametrize(
    "args",
    [["--listen", "127.0.0.1:99999"], ["--sync", "sometimes"], ["--max-message-bytes", "-1"], ["--no-such-option"]],
    ids=["port-out-of-range", "sync-unknown", "max-message-negative", "unknown-option"],
)
def test_bad_options_exit_non_zero(binary, tmp_path, args):
    r = _run_to_exit(binary, ["serve", "--data", str(tmp_path / "d"), *args])
    assert r.returncode != 0, f"started with {args}"
    assert r.stderr.strip() or r.stdout.strip(), "no message"


def test_missing_config_file_exits_non_zero(binary, tmp_path):
    r = _run_to_exit(binary, ["serve", "--config", str(tmp_path / "absent.json"), "--data", str(tmp_path / "d")])
    assert r.returncode != 0
    assert "absent.json" in r.stderr, r.stderr


def test_env_vars_configure_listen_and_data(server_factory, tmp_path, pb):
    port, data = free_port(), tmp_path / "env-data"
    srv = server_factory(start=False, port=port, data=data)
    srv.command = lambda: [str(srv.binary), "serve"]
    srv.extra_env = {"MESGATE_LISTEN": f"127.0.0.1:{port}", "MESGATE_DATA": str(data)}
    srv.start()
    assert _publish_one(srv, pb).result == pb.events_pb2.Ack.ACCEPTED
    assert (data / "genealogy.sqlite").is_file()


def test_config_file_configures_listen_and_data(server_factory, tmp_path, pb):
    port, data = free_port(), tmp_path / "cfg-data"
    cfg = tmp_path / "mesgate.json"
    cfg.write_text(json.dumps({"listen": f"127.0.0.1:{port}", "data": str(data)}))
    srv = server_factory(start=False, port=port, data=data)
    srv.command = lambda: [str(srv.binary), "serve", "--config", str(cfg)]
    srv.start()
    assert _publish_one(srv, pb).result == pb.events_pb2.Ack.ACCEPTED
    assert (data / "genealogy.sqlite").is_file()


def test_command_line_overrides_env(server_factory, tmp_path, pb):
    port = free_port()
    srv = server_factory(start=False, port=port)
    srv.extra_env = {"MESGATE_LISTEN": f"127.0.0.1:{free_port()}"}
    srv.start()  # command() passes --listen 127.0.0.1:<port>
    assert _publish_one(srv, pb).result == pb.events_pb2.Ack.ACCEPTED


@pytest.mark.parametrize("sync", ["full", "normal", "off"])
def test_sync_modes_serve(server_factory, pb, sync):
    srv = server_factory(extra_args=["--sync", sync])
    assert _publish_one(srv, pb).result == pb.events_pb2.Ack.ACCEPTED


def test_store_is_wal_with_the_contract_tables(server_factory, pb):
    srv = server_factory()
    assert _publish_one(srv, pb).result == pb.events_pb2.Ack.ACCEPTED
    assert srv.scalar("PRAGMA journal_mode").lower() == "wal"
    tables = {r[0] for r in srv.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"events", "exceptions", "outbox"} <= tables, tables
    cols = {r[1] for r in srv.query("PRAGMA table_info(events)")}
    assert {"sequence", "event_id", "kind", "raw"} <= cols, cols


def test_max_message_bytes_option(server_factory, pb):
    srv = server_factory(extra_args=["--max-message-bytes", "4096"])
    assert _publish_one(srv, pb, size_pad=1000).result == pb.events_pb2.Ack.ACCEPTED
    with pytest.raises(grpc.RpcError) as info:
        _publish_one(srv, pb, size_pad=8000)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, info.value.details()


def test_sigterm_is_graceful_and_keeps_acked_events(server_factory, pb):
    srv = server_factory()
    acks = [_publish_one(srv, pb) for _ in range(20)]
    assert all(a.result == pb.events_pb2.Ack.ACCEPTED for a in acks)
    code = srv.stop(timeout=EXIT_TIMEOUT_S)  # SIGTERM; SIGKILL (and so -9) only if it hangs
    assert code == 0, f"exit code {code} after SIGTERM"
    srv.start()
    n = srv.scalar("SELECT COUNT(*) FROM events")
    assert n == 20
    with srv.channel() as ch:
        r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=RPC_TIMEOUT_S)
        assert r.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("how, when", [("close", "after reading"), ("reset", "after reading"),
                                       ("close", "at once")])
def test_a_client_command_at_a_port_that_hangs_up_says_so_with_a_hint(binary, how, when):
    """`mesgate trace --server` at a port that takes the connection and hangs up without a word
    (a TLS port does this to h2c: it closes or resets once it has read the client's preface):
    one line naming the server, with the hint about TLS. A reset used to print only the socket's
    errno, and a close at once, before the client had looked up its own handler, "cannot connect
    …: notFound" (1 run in 5). A reset at once, during the TCP connect itself, is a failed connect
    and is reported as one."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]

    def hang_up():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                if when == "after reading":
                    try:
                        conn.recv(4096)  # the client's preface: then hang up
                    except OSError:
                        pass
                if how == "reset":  # SO_LINGER 0: close sends RST, not FIN
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        result = subprocess.run([str(binary), "trace", "--server", f"127.0.0.1:{port}", "--product", "P",
                                 "--lot", "L", "--timeout-seconds", "10"],
                                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    finally:
        listener.close()
    assert result.returncode != 0
    assert f"127.0.0.1:{port} closed or reset the connection without an answer" in result.stderr, result.stderr
    assert "A TLS port needs --ca or --tls" in result.stderr, result.stderr
