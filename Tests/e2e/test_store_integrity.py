"""A damaged or full store as an operator meets it (issue 17.2, 17.4, 17.7).

- Damage written into the real store file (64 zero bytes in a page of the event_id index, which
  makes a re-sent event a duplicate; 16 inside one of its keys, which quick_check alone does not
  see; the header of an events table page): `serve` refuses to start
  and says how to restore, `audit verify` exits 1 naming the damage, `check` lists it; while
  serving, the scheduled integrity check turns readiness 503 and health NOT_SERVING.
- A full disk (a small tmpfs, mounted as root): readiness 503 and health NOT_SERVING (Check and
  Watch) while commits fail, Publish UNAVAILABLE; back to 200 and SERVING once space returns,
  without traffic.
- A fresh store on an 8 MiB disk takes 2,000 unary events (its WAL used to fill the disk).
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import threading
import time
import urllib.error
from pathlib import Path

import grpc
import pytest

from conftest import RPC_TIMEOUT_S, START_TIMEOUT_S, admin_get, status_code
from mesevents import event

RESTORE_HINT = "mesgate restore --from BACKUP --data"


def publish_stream(srv, pb, events) -> list:
    with srv.channel() as ch:
        return list(pb.events_pb2_grpc.EventIngestStub(ch).PublishStream(iter(events), timeout=120))


def filled_store(server_factory, pb, n: int = 3000):
    """A stopped server whose store holds `n` consumptions (each an outbox row and an exception)."""
    srv = server_factory()
    acks = publish_stream(srv, pb, [event("consumed") for _ in range(n)])
    assert [a.result for a in acks] == [pb.events_pb2.Ack.ACCEPTED] * n
    assert srv.stop() == 0
    return srv


def zero_bytes(db: Path, tree: str, leaf: int, offset, count: int = 64) -> int:
    """Zeroes `count` bytes at offset(page bytes) of the `leaf`th leaf page of `tree`; returns the page."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        page = con.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno "
                           "LIMIT 1 OFFSET ?", (tree, leaf)).fetchone()[0]
    finally:
        con.close()
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0, "WAL not checkpointed"
    with open(db, "r+b") as f:
        f.seek((page - 1) * page_size)
        content = f.read(page_size)
        f.seek((page - 1) * page_size + offset(content))
        f.write(b"\0" * count)
    return page


def inside_a_key(page: bytes) -> int:
    """An offset inside the text of the 11th key of an index leaf page: its cell pointer follows the
    8-byte header; the cell starts with payload size, header size and two serial types (a byte each)."""
    cell = int.from_bytes(page[8 + 2 * 10:8 + 2 * 10 + 2], "big")
    return cell + 4 + 8


def run(binary: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=120)


def refused_to_start(srv) -> str:
    srv.start(wait=False)
    try:
        srv.proc.wait(timeout=START_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"mesgate serves a damaged store; stderr:\n{srv.stderr_tail()}")
    assert srv.proc.returncode == 1, srv.stderr_tail()
    return srv.stderr_tail()


DAMAGE = {
    # Inside the index's cells (SQLite fills a page's cells from its end).
    "event_id index": ("sqlite_autoindex_events_1", 3, lambda page: len(page) - 700, 64),
    # 16 bytes inside one key's text: the page's structure is intact (quick_check passes), the
    # event is no longer found by its id.
    "event_id key": ("sqlite_autoindex_events_1", 3, inside_a_key, 16),
    # The page header and cell pointers of an events table page.
    "events table": ("events", 5, lambda page: 0, 64),
}


@pytest.mark.parametrize("where", sorted(DAMAGE))
def test_damaged_store_is_refused_and_reported(binary, server_factory, pb, where):
    srv = filled_store(server_factory, pb)
    zero_bytes(srv.db_path, *DAMAGE[where])

    stderr = refused_to_start(srv)
    assert "is damaged (SQLite quick_check + integrity_check(events) reported: " in stderr, stderr
    assert f"{RESTORE_HINT} {srv.data}" in stderr, stderr

    verify = run(binary, "audit", "verify", "--data", str(srv.data))
    assert verify.returncode == 1, verify.stdout + verify.stderr
    assert "damaged" in verify.stderr and RESTORE_HINT in verify.stderr, verify.stderr

    check = run(binary, "check", "--data", str(srv.data))
    assert check.returncode == 1, check.stdout + check.stderr
    assert "DAMAGED" in check.stderr and RESTORE_HINT in check.stderr, check.stderr


def test_intact_store_passes_the_checks(binary, server_factory, pb):
    srv = filled_store(server_factory, pb, n=200)
    check = run(binary, "check", "--data", str(srv.data))
    assert check.returncode == 0 and "store intact" in check.stdout, check.stdout + check.stderr
    srv.start()  # the start-up check passes


def health(srv, pb, service: str = "") -> int:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with srv.channel() as ch:
        return health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=service),
                                                    timeout=RPC_TIMEOUT_S).status


def readyz(srv) -> tuple[int | None, str]:
    """/readyz's status and body; None while the admin listener is not up yet."""
    try:
        code, _, body = admin_get(srv, "/readyz")
    except urllib.error.URLError:
        return None, ""
    return code, body


def wait_for(predicate, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_scheduled_check_turns_readiness_off(server_factory, pb):
    from grpc_health.v1 import health_pb2

    srv = filled_store(server_factory, pb)
    zero_bytes(srv.db_path, *DAMAGE["event_id index"])
    # Start-up check off, so that the damage is found by the scheduled check (every 1.8 s).
    srv.extra_args += ["--startup-check-seconds", "0", "--integrity-check-hours", "0.0005"]
    srv.start(wait=False)
    code, body = wait_for(lambda: (r := readyz(srv))[0] == 503 and r, "readyz 503")
    assert "store damaged" in body and "integrity_check" in body, body
    assert health(srv, pb) == health_pb2.HealthCheckResponse.NOT_SERVING
    assert health(srv, pb, "mes.v1.EventIngest") == health_pb2.HealthCheckResponse.NOT_SERVING
    metrics = admin_get(srv, "/metrics")[2]
    assert "mesgate_store_damaged 1" in metrics, metrics
    assert 'mesgate_store_integrity_checks_total{result="damaged"}' in metrics
    assert "store damaged" in admin_get(srv, "/")[2]


@contextlib.contextmanager
def small_disk(path: Path, size: str):
    """A tmpfs of `size` at `path` (root only, like CI), unmounted afterwards."""
    path.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs at {path} (these tests run as root): {mounted.stderr}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def fill(disk: Path) -> Path:
    """Writes a file until the disk is full (to the last block)."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        for chunk in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    f.write(b"\xff" * chunk)
            except OSError:
                pass
    return filler


class Watcher:
    """A grpc.health.v1 Watch of one service, its statuses collected on a thread of its own."""

    def __init__(self, srv, service: str = ""):
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        self.channel = srv.channel()
        self.call = health_pb2_grpc.HealthStub(self.channel).Watch(health_pb2.HealthCheckRequest(service=service))
        self.statuses: list[int] = []
        self.thread = threading.Thread(target=self._collect, daemon=True)
        self.thread.start()

    def _collect(self):
        try:
            for response in self.call:
                self.statuses.append(response.status)
        except grpc.RpcError:
            pass  # cancelled by close()

    def close(self):
        self.call.cancel()
        self.thread.join(timeout=RPC_TIMEOUT_S)
        self.channel.close()


def test_readiness_follows_failing_commits(server_factory, pb, tmp_path):
    from grpc_health.v1 import health_pb2

    SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    with small_disk(tmp_path / "disk", "6m") as disk:
        srv = server_factory(data=disk / "data")
        watch = Watcher(srv, "mes.v1.EventIngest")
        try:
            with srv.channel() as ch:
                ingest = pb.events_pb2_grpc.EventIngestStub(ch)
                assert ingest.Publish(event("consumed"), timeout=RPC_TIMEOUT_S).result == pb.events_pb2.Ack.ACCEPTED
                assert admin_get(srv, "/readyz")[0] == 200
                filler = fill(disk)
                # The WAL may still have room for a few commits: publish until one fails.
                code = grpc.StatusCode.OK
                for _ in range(3000):
                    code = status_code(lambda: ingest.Publish(event("consumed"), timeout=RPC_TIMEOUT_S))
                    if code != grpc.StatusCode.OK:
                        break
                assert code == grpc.StatusCode.UNAVAILABLE, code
                code, body = wait_for(lambda: (r := readyz(srv))[0] == 503 and r, "readyz 503")
                assert "store writes failing" in body, body
                assert health(srv, pb) == health_pb2.HealthCheckResponse.NOT_SERVING
                assert health(srv, pb, "mes.v1.EventIngest") == health_pb2.HealthCheckResponse.NOT_SERVING
                again = status_code(lambda: ingest.Publish(event("consumed"), timeout=RPC_TIMEOUT_S))
                assert again == grpc.StatusCode.UNAVAILABLE

                filler.unlink()
                # No traffic: the writer's probe finds out that it can commit again.
                wait_for(lambda: admin_get(srv, "/readyz")[0] == 200, "readyz 200 after space returned")
                assert health(srv, pb) == health_pb2.HealthCheckResponse.SERVING
                assert ingest.Publish(event("consumed"), timeout=RPC_TIMEOUT_S).result == pb.events_pb2.Ack.ACCEPTED
            wait_for(lambda: watch.statuses[-1:] == [SERVING], "Watch back to SERVING")
            assert watch.statuses == [SERVING, NOT_SERVING, SERVING], watch.statuses
        finally:
            watch.close()
            srv.stop()


def test_fresh_store_fits_a_small_disk(server_factory, pb, tmp_path):
    with small_disk(tmp_path / "disk", "8m") as disk:
        srv = server_factory(data=disk / "data")
        try:
            with srv.channel() as ch:
                ingest = pb.events_pb2_grpc.EventIngestStub(ch)
                tag = "small-disk"
                for i in range(2000):
                    ack = ingest.Publish(event("consumed", tag=f"{tag}-{i % 20}"), timeout=RPC_TIMEOUT_S)
                    assert ack.result == pb.events_pb2.Ack.ACCEPTED, (i, ack)
            wal = Path(f"{srv.db_path}-wal")
            assert wal.stat().st_size < 3 * 1024 * 1024, wal.stat().st_size
        finally:
            srv.stop()
