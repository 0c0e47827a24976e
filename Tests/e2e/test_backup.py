"""`mesgate backup` and `mesgate restore`: a consistent copy taken while a client publishes at
full speed, restored into a new folder and served: every event acked before the backup began is
there under its acked sequence and the audit trail verifies. Restore refuses a folder a server holds,
and keeps the store it replaces."""

import subprocess
import threading
import time

from mesevents import event

CLI_TIMEOUT_S = 120
DEADLINE_S = 60


def _run(binary, *args):
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, timeout=CLI_TIMEOUT_S,
                          stdin=subprocess.DEVNULL)


class Publisher:
    """Publishes on one PublishStream until stopped; keeps the ACCEPTED acks (event_id -> sequence)."""

    def __init__(self, srv, pb):
        self.srv, self.pb = srv, pb
        self.acked: dict[str, int] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _events(self):
        i = 0
        while not self.stop.is_set():
            yield event("received", event_id=f"backup-{i:07d}", tag=f"b{i // 50}")
            i += 1

    def _run(self):
        try:
            with self.srv.channel() as ch:
                stub = self.pb.events_pb2_grpc.EventIngestStub(ch)
                for ack in stub.PublishStream(self._events(), timeout=CLI_TIMEOUT_S + DEADLINE_S):
                    if ack.result == self.pb.events_pb2.Ack.ACCEPTED:
                        with self.lock:
                            self.acked[ack.event_id] = ack.sequence
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.acked)

    def wait_for(self, n: int):
        deadline = time.monotonic() + DEADLINE_S
        while len(self.snapshot()) < n:
            assert time.monotonic() < deadline, f"only {len(self.snapshot())} acks after {DEADLINE_S}s: {self.error}"
            assert self.thread.is_alive(), f"the stream ended: {self.error}"
            time.sleep(0.05)

    def finish(self):
        self.stop.set()
        self.thread.join(timeout=DEADLINE_S)


def test_backup_under_load_restores_every_acked_event(server_factory, pb, binary, tmp_path):
    srv = server_factory()
    publisher = Publisher(srv, pb)
    try:
        publisher.wait_for(3_000)
        acked_before = publisher.snapshot()
        copy = tmp_path / "nightly.sqlite"
        r = _run(binary, "backup", "--data", srv.data, "--to", copy)
        assert r.returncode == 0, r.stderr
        during = len(publisher.snapshot()) - len(acked_before)
        assert "events" in r.stdout and "audit head" in r.stdout, r.stdout
        assert copy.stat().st_size > 0
        # Ingest went on while the copy was taken.
        publisher.wait_for(len(acked_before) + during + 500)
    finally:
        publisher.finish()
    assert during > 0, "nothing was acked while the backup ran"

    # Restore is refused while a server holds the folder.
    r = _run(binary, "restore", "--from", copy, "--data", srv.data)
    assert r.returncode == 1, r.stderr
    assert str(srv.pid) in r.stderr, r.stderr

    target = tmp_path / "restored"
    r = _run(binary, "restore", "--from", copy, "--data", target)
    assert r.returncode == 0, r.stderr
    restored = server_factory(data=target)
    stored = dict(restored.query("SELECT event_id, sequence FROM events WHERE event_id LIKE 'backup-%'"))
    missing = [k for k in acked_before if k not in stored]
    assert not missing, f"{len(missing)} events acked before the backup are missing, e.g. {missing[:3]}"
    assert all(stored[k] == s for k, s in acked_before.items())
    restored.stop()
    r = _run(binary, "audit", "verify", "--data", target)
    assert r.returncode == 0, r.stderr


def test_restore_keeps_the_store_it_replaces(server_factory, pb, binary, tmp_path):
    srv = server_factory()
    with srv.channel() as ch:
        pb.events_pb2_grpc.EventIngestStub(ch).Publish(event("received", event_id="first"), timeout=10)
    copy = tmp_path / "copy.sqlite"
    assert _run(binary, "backup", "--data", srv.data, "--to", copy).returncode == 0
    with srv.channel() as ch:
        pb.events_pb2_grpc.EventIngestStub(ch).Publish(event("received", event_id="second"), timeout=10)
    srv.stop()
    r = _run(binary, "restore", "--from", copy, "--data", srv.data)
    assert r.returncode == 0, r.stderr
    kept = list(srv.data.glob("genealogy.sqlite.before-restore-*"))
    assert len(kept) == 1, list(srv.data.iterdir())
    assert not any(p.name.endswith(("-wal", "-shm")) and "before-restore" not in p.name
                   for p in srv.data.iterdir() if p.stat().st_size > 0)
    assert [r[0] for r in srv.query("SELECT event_id FROM events ORDER BY sequence")] == ["first"]


def test_restore_refuses_a_file_that_is_not_a_good_store(binary, tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database" * 100)
    r = _run(binary, "restore", "--from", bad, "--data", tmp_path / "d")
    assert r.returncode == 1, r.stderr
    assert not (tmp_path / "d" / "genealogy.sqlite").exists()
