"""End-to-end harness: real grpcio clients against a real `mesgate serve` process.

- Python stubs are generated from proto/ once per session with grpc_tools.protoc into a
  temporary folder (nothing generated is committed).
- `server` starts mesgate on a free loopback port with a fresh data folder per test module,
  waits for grpc.health.v1.Health/Check to answer SERVING, and stops it at the end (SIGTERM,
  then SIGKILL). Its stderr goes to a file that is attached to the report of a failing test.
- The binary is $MESGATE_BIN, or `$(swift build --show-bin-path)/mesgate`.
"""

from __future__ import annotations

import hashlib

import importlib
import importlib.util
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import grpc
import pytest

REPO = Path(__file__).resolve().parents[2]
PROTO = REPO / "proto"

# 8 MiB both ways so that the client never refuses a message before the server sees it.
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", 8 * 1024 * 1024),
    ("grpc.max_receive_message_length", 8 * 1024 * 1024),
]
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
RPC_TIMEOUT_S = 10.0


# --------------------------------------------------------------------------- stubs


class Stubs:
    """The generated modules: common_pb2, events_pb2, events_pb2_grpc, genealogy_pb2, ...,
    reflection_v1_pb2 (loaded under its own name so it does not shadow grpcio's `grpc`)."""


def _generate_stubs() -> Stubs:
    from grpc_tools import protoc

    out = Path(tempfile.mkdtemp(prefix="mesgate-e2e-stubs-"))
    include = Path(protoc.__file__).resolve().parent / "_proto"
    mes = sorted(str(p.relative_to(PROTO)) for p in (PROTO / "mes").rglob("*.proto"))
    refl_v1 = "grpc/reflection/v1/reflection.proto"
    args = ["protoc", f"-I{PROTO}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", *mes, refl_v1]
    if protoc.main(args) != 0:
        raise RuntimeError(f"grpc_tools.protoc failed on {PROTO}: {' '.join(args)}")
    sys.path.insert(0, str(out))
    s = Stubs()
    s.dir = out
    for name in ("common", "events", "genealogy", "quality", "work_orders", "exceptions", "master_data"):
        if (out / "mes" / "v1" / f"{name}_pb2.py").exists():
            setattr(s, f"{name}_pb2", importlib.import_module(f"mes.v1.{name}_pb2"))
            setattr(s, f"{name}_pb2_grpc", importlib.import_module(f"mes.v1.{name}_pb2_grpc"))
    # grpc/reflection/v1/reflection_pb2.py imports nothing generated; load it by file path.
    spec = importlib.util.spec_from_file_location(
        "mesgate_e2e_reflection_v1_pb2", out / "grpc" / "reflection" / "v1" / "reflection_pb2.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    s.reflection_v1_pb2 = mod
    return s


_STUBS: Stubs | None = None


def stubs() -> Stubs:
    global _STUBS
    if _STUBS is None:
        _STUBS = _generate_stubs()
    return _STUBS


@pytest.fixture(scope="session")
def pb() -> Stubs:
    return stubs()


# --------------------------------------------------------------------------- binary


def mesgate_binary() -> Path:
    env = os.environ.get("MESGATE_BIN")
    if env:
        return Path(env)
    swift = shutil.which("swift") or "/opt/swift/usr/bin/swift"
    bin_dir = subprocess.run(
        [swift, "build", "--show-bin-path"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    return Path(bin_dir) / "mesgate"


@pytest.fixture(scope="session")
def binary() -> Path:
    path = mesgate_binary()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"mesgate binary not found at {path}: build it first (swift build) or set MESGATE_BIN", pytrace=False)
    return path


def token_line(client: str, role: str, token: str) -> str:
    """One line of a `--tokens` file for `token`."""
    return f"{client} {role} sha256:{hashlib.sha256(token.encode()).hexdigest()}\n"


def status_code(call) -> grpc.StatusCode:
    """The gRPC status `call()` ended with (OK when it raised nothing)."""
    try:
        call()
    except grpc.RpcError as e:
        return e.code()
    return grpc.StatusCode.OK


def publish_stream(server, pb, events, on_ack, timeout: float = RPC_TIMEOUT_S):
    """Publishes `events` on one PublishStream and calls on_ack(ack) for each Ack (returning False
    stops sending); returns the RpcError that ended the stream, or None."""
    with server.channel() as ch:
        stub = pb.events_pb2_grpc.EventIngestStub(ch)
        stop = threading.Event()

        def gen():
            for e in events:
                if stop.is_set():
                    return
                yield e

        try:
            for ack in stub.PublishStream(gen(), timeout=timeout):
                if on_ack(ack) is False:
                    stop.set()
        except grpc.RpcError as err:
            return err
        finally:
            stop.set()
    return None


def admin_get(srv, path: str, timeout: float = 5.0, token: str | None = None) -> tuple[int, str, str]:
    """GET `path` on a server's admin listener (with `token` as a bearer token): status, content
    type, body (errors included)."""
    request = urllib.request.Request(f"http://127.0.0.1:{srv.admin_port}{path}")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.headers.get("content-type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read().decode()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n: int) -> list[int]:
    """`n` different free ports: the sockets stay bound until all are picked (two `free_port()` calls
    in a row can return the same port, once the first socket is closed)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


# --------------------------------------------------------------------------- server


_LIVE_SERVERS: list["Server"] = []


class ServerStartError(RuntimeError):
    """mesgate did not come up: exited, or never answered health with SERVING."""


class Server:
    """One `mesgate serve` process. Restartable on the same data folder (crash tests)."""

    def __init__(self, binary: Path, data: Path, logs: Path, extra_args: list[str] | None = None,
                 env: dict[str, str] | None = None, port: int | None = None):
        self.binary = binary
        self.data = data
        self.logs = logs
        self.extra_args = list(extra_args or [])
        self.extra_env = dict(env or {})
        # The admin HTTP listener (/metrics, /healthz, /readyz, status page), on its own free port.
        grpc_port, self.admin_port = free_ports(2)
        self.port = port or grpc_port
        while self.admin_port == self.port:  # a given port may be the one just picked
            self.admin_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.stderr_path: Path | None = None
        self._stderr_file = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.data / "genealogy.sqlite"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def command(self) -> list[str]:
        admin = [] if "--admin-listen" in self.extra_args else ["--admin-listen", f"127.0.0.1:{self.admin_port}"]
        return [str(self.binary), "serve", "--listen", self.address, "--data", str(self.data), *admin, *self.extra_args]

    def start(self, wait: bool = True) -> "Server":
        self.starts += 1
        self.logs.mkdir(parents=True, exist_ok=True)
        self.stderr_path = self.logs / f"mesgate-{self.port}-{self.starts}.stderr"
        self._stderr_file = open(self.stderr_path, "wb")
        env = {**os.environ, **self.extra_env}
        self.proc = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=self._stderr_file, stderr=self._stderr_file, env=env
        )
        _LIVE_SERVERS.append(self)
        if wait:
            self.wait_serving()
        return self

    def wait_serving(self, timeout: float = START_TIMEOUT_S) -> None:
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._close()
                raise ServerStartError(
                    f"mesgate exited with {self.proc.returncode} while starting; stderr:\n{self.stderr_tail()}"
                )
            try:
                with grpc.insecure_channel(self.address) as ch:
                    r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
                    if r.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                    last = f"status {r.status}"
            except grpc.RpcError as e:
                last = f"{e.code()}: {e.details()}"
            time.sleep(0.1)
        self.kill()
        raise ServerStartError(f"mesgate not SERVING on {self.address} after {timeout}s ({last}); stderr:\n{self.stderr_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`. Returns the exit code (negative: signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        self._close()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash or power loss of the process would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        self._close()

    def _close(self) -> None:
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None
        if self in _LIVE_SERVERS:
            _LIVE_SERVERS.remove(self)

    def stderr_tail(self, limit: int = 8000) -> str:
        if self.stderr_path is None or not self.stderr_path.exists():
            return "(no stderr)"
        data = self.stderr_path.read_bytes()
        return data[-limit:].decode("utf-8", "replace")

    def channel(self, **kwargs) -> grpc.Channel:
        options = list(CHANNEL_OPTIONS) + list(kwargs.pop("options", []))
        return grpc.insecure_channel(self.address, options=options, **kwargs)

    # ---- read-only access to the store, as an auditor would have it

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        con = self.db()
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def scalar(self, sql: str, args: tuple = ()):
        rows = self.query(sql, args)
        assert rows, f"no row for {sql}"
        return rows[0][0]


def _start_module_server(binary: Path, tmp_path_factory, name: str, extra_args=None) -> Server:
    base = tmp_path_factory.mktemp(name)
    srv = Server(binary, base / "data", base / "logs", extra_args=extra_args)
    try:
        srv.start()
    except ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    return srv


@pytest.fixture(scope="module")
def server(binary, tmp_path_factory, request):
    """A server with a fresh data folder for this test module."""
    srv = _start_module_server(binary, tmp_path_factory, request.module.__name__.rsplit(".", 1)[-1])
    yield srv
    srv.stop()


@pytest.fixture
def server_factory(binary, tmp_path):
    """Servers of a single test, each with its own data folder unless given one."""
    made: list[Server] = []

    def make(extra_args=None, env=None, data: Path | None = None, port: int | None = None, start=True, wait=True):
        srv = Server(binary, data or tmp_path / f"data{len(made)}", tmp_path / "logs", extra_args, env, port)
        made.append(srv)
        if start:
            srv.start(wait=wait)
        return srv

    yield make
    for srv in made:
        srv.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for srv in list(_LIVE_SERVERS):
            report.sections.append((f"mesgate stderr ({srv.address}, tail)", srv.stderr_tail()))


# --------------------------------------------------------------------------- helpers


def unique(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


@pytest.fixture
def new_id():
    return unique
