"""The data folder as an operator meets it: one `serve` per folder (a lock that names the holder's
pid), and the commands that only read leave a live store alone: no migration, no WAL checkpoint."""

import sqlite3
import subprocess

from conftest import RPC_TIMEOUT_S
from mesevents import event

EXIT_TIMEOUT_S = 20


def _run(binary, *args):
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, timeout=EXIT_TIMEOUT_S,
                          stdin=subprocess.DEVNULL)


def _publish(srv, pb, n, prefix):
    with srv.channel() as ch:
        stub = pb.events_pb2_grpc.EventIngestStub(ch)
        for i in range(n):
            ack = stub.Publish(event("received", event_id=f"{prefix}-{i}"), timeout=RPC_TIMEOUT_S)
            assert ack.result == pb.events_pb2.Ack.ACCEPTED, ack


def test_a_second_server_on_the_same_folder_exits_naming_the_first(server_factory, pb):
    first = server_factory()
    second = server_factory(data=first.data, start=False)
    r = subprocess.run(second.command(), capture_output=True, text=True, timeout=EXIT_TIMEOUT_S,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert str(first.pid) in lines[0] and str(first.data) in lines[0], lines[0]
    # The first one goes on serving.
    _publish(first, pb, 1, "after-second")


def test_a_read_leaves_the_running_servers_store_alone(server_factory, pb, binary):
    srv = server_factory()
    _publish(srv, pb, 50, "read-alone")
    wal = srv.data / "genealogy.sqlite-wal"
    before = wal.stat().st_size
    assert before > 0
    for args in (["exceptions"], ["outbox", "list"], ["trace", "--product", "resin", "--lot", "nope"],
                 ["audit", "verify"]):
        r = _run(binary, *args, "--data", srv.data)
        assert r.returncode in (0, 1), f"{args}: {r.stderr}"  # trace of an unknown lot exits 1
        assert "cannot open" not in r.stderr, f"{args}: {r.stderr}"
        # No TRUNCATE checkpoint behind the server's back: the log is as the server left it.
        assert wal.stat().st_size == before, f"{args} changed the WAL"


def test_a_read_of_a_store_that_needs_migration_is_refused_and_leaves_it(server_factory, pb, binary):
    srv = server_factory()
    _publish(srv, pb, 1, "old-store")
    srv.stop()
    con = sqlite3.connect(srv.db_path)
    latest = con.execute("PRAGMA user_version").fetchone()[0]
    con.execute(f"PRAGMA user_version = {latest - 1}")  # as a build one migration older left it
    con.close()
    for args in (["exceptions"], ["outbox", "list"], ["outbox", "retry"],
                 ["trace", "--product", "resin", "--lot", "nope"]):
        r = _run(binary, *args, "--data", srv.data)
        assert r.returncode == 1, f"{args}: {r.stderr}"
        assert "older than this build" in r.stderr and "mesgate serve" in r.stderr, f"{args}: {r.stderr}"
    con = sqlite3.connect(f"file:{srv.db_path}?mode=ro", uri=True)
    assert con.execute("PRAGMA user_version").fetchone()[0] == latest - 1
    con.close()
