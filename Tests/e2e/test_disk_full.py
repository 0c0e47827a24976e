"""The data folder's disk fills up: the server answers UNAVAILABLE (the client retries), stays up,
and takes events again once space returns; nothing acked is lost, nothing is stored twice, the
audit trail stays intact. The data folder is a small tmpfs (needs root to mount; skipped
otherwise), filled with a filler file and emptied by deleting it."""

from __future__ import annotations

import errno
import os
import subprocess
import time

import grpc
import pytest

from conftest import publish_stream
from mesevents import event

TMPFS_BYTES = 16 * 1024 * 1024
BOUND_S = 30.0


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MiB tmpfs; unmounted at the end whatever happens."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(mount)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path) -> int:
    """Writes `path` until the disk is full; returns its size."""
    written = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                written += f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    return written
                chunk = chunk[: len(chunk) // 2]


def test_full_disk_answers_unavailable_and_recovers_when_space_returns(server_factory, pb, small_disk, binary):
    Ack = pb.events_pb2.Ack
    srv = server_factory(data=small_disk / "data")
    run = f"{int(time.time())}"
    acked: dict[str, int] = {}

    def publish(stub, e) -> grpc.StatusCode:
        try:
            ack = stub.Publish(e, timeout=10)
        except grpc.RpcError as err:
            return err.code(), err.details()
        assert ack.result == Ack.ACCEPTED, ack
        acked[e.event_id] = ack.sequence
        return grpc.StatusCode.OK, ""

    with srv.channel() as ch:
        stub = pb.events_pb2_grpc.EventIngestStub(ch)
        for i in range(50):
            assert publish(stub, event("received", event_id=f"df-{run}-pre-{i}"))[0] == grpc.StatusCode.OK
        filler = small_disk / "filler"
        fill(filler)
        # Publish until the store cannot commit: with the disk full that comes within a WAL page or
        # two of events, but bound it in count and time anyway.
        refused = []
        deadline = time.monotonic() + BOUND_S
        i = 0
        while not refused and time.monotonic() < deadline and i < 5000:
            e = event("consumed", event_id=f"df-{run}-full-{i}", tag=f"{run}-{i // 50}")
            code, details = publish(stub, e)
            if code != grpc.StatusCode.OK:
                refused.append((e, code, details))
            i += 1
        assert refused, f"{i} events published on a full disk without a refusal"
        print(f"disk full: {i - 1} events taken after the filler, then {refused[0][1]}")
        e, code, details = refused[0]
        assert code == grpc.StatusCode.UNAVAILABLE, (code, details)
        assert srv.alive(), srv.stderr_tail()
        # While full: still UNAVAILABLE, on Publish and on a stream; never an answer that loses the event.
        assert publish(stub, e)[0] == grpc.StatusCode.UNAVAILABLE
        stream_acks = []
        err = publish_stream(srv, pb, [e], stream_acks.append)
        assert err is not None and err.code() == grpc.StatusCode.UNAVAILABLE and not stream_acks, (err, stream_acks)
        assert srv.alive(), srv.stderr_tail()
        # Space returns: the refused event is taken, then more.
        filler.unlink()
        deadline = time.monotonic() + BOUND_S
        code = None
        while time.monotonic() < deadline:
            code, details = publish(stub, e)
            if code == grpc.StatusCode.OK:
                break
            assert code == grpc.StatusCode.UNAVAILABLE, (code, details)
            time.sleep(0.2)
        assert code == grpc.StatusCode.OK, f"still {code} {BOUND_S}s after space returned: {details}"
        for j in range(50):
            assert publish(stub, event("received", event_id=f"df-{run}-after-{j}"))[0] == grpc.StatusCode.OK

    stored = dict(srv.query("SELECT event_id, sequence FROM events"))
    assert {k: stored.get(k) for k in acked} == acked
    assert len(stored) == len(acked), "the store holds events that were never acked"
    audit = subprocess.run([str(binary), "audit", "verify", "--data", str(srv.data)],
                           capture_output=True, text=True, timeout=60)
    assert audit.returncode == 0 and "audit trail intact" in audit.stdout, audit.stdout + audit.stderr
    # And after a restart on the same data, the same.
    srv.stop()
    srv.start()
    assert dict(srv.query("SELECT event_id, sequence FROM events")) == stored
    srv.stop()
