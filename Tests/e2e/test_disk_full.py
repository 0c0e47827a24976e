"""The data folder's disk fills up: the server answers UNAVAILABLE (the client retries), stays up,
and takes events again once space returns; nothing acked is lost, nothing is stored twice, the
audit trail stays intact; a hold or an EPCIS import meeting the full disk is refused and stored
later, or stored. The data folder is a small tmpfs (needs root to mount; skipped
otherwise), filled with a filler file and emptied by deleting it."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import time

import grpc
import pytest

from conftest import publish_stream, status_code
from mesevents import event
from odoo_harness import PlantDay, emulator_factory, gateway_args, outbox_states, reconcile, wait_drained  # noqa: F401 (emulator_factory is a fixture)
from test_epcis_import import RECEIPT

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
        pre_lot = event("received", event_id="", tag=f"{run}-pre").received.lot
        assert publish(stub, event("received", event_id=f"df-{run}-pre-lot", tag=f"{run}-pre"))[0] == grpc.StatusCode.OK
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
        # A hold and an EPCIS import while full: refused with UNAVAILABLE and nothing of them stored,
        # or (should they fit in pages SQLite holds already) answered and stored.
        hold = pb.quality_pb2.HoldRequest(lot=pre_lot, reason=f"df-{run}-hold", propagate=False)
        document = json.loads(json.dumps(RECEIPT))
        document["epcisBody"]["eventList"][0]["quantityList"][0]["epcClass"] += f"-{run}"
        document = json.dumps(document).encode()
        quality = pb.quality_pb2_grpc.QualityStub(ch)
        held_while_full = status_code(lambda: quality.PlaceHold(hold, timeout=10))
        imported_while_full = status_code(lambda: stub.ImportEPCIS(pb.events_pb2.EPCISDocument(json=document), timeout=10))
        assert held_while_full in (grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE), held_while_full
        assert imported_while_full in (grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE), imported_while_full
        holds_stored = srv.scalar("SELECT count(*) FROM holds WHERE reason = ?", (hold.reason,))
        imports_stored = srv.scalar("SELECT count(*) FROM epcis_imports")
        assert holds_stored == (held_while_full == grpc.StatusCode.OK)
        assert imports_stored == (imported_while_full == grpc.StatusCode.OK)
        assert srv.alive(), srv.stderr_tail()
        print(f"disk full: PlaceHold {held_while_full.name}, ImportEPCIS {imported_while_full.name}")
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
        if held_while_full != grpc.StatusCode.OK:
            assert status_code(lambda: quality.PlaceHold(hold, timeout=10)) == grpc.StatusCode.OK
        result = stub.ImportEPCIS(pb.events_pb2.EPCISDocument(json=document), timeout=10)
        assert result.stored + result.duplicates == 1 and (result.duplicates == 1) == (imports_stored == 1), result
        assert srv.scalar("SELECT count(*) FROM holds WHERE reason = ?", (hold.reason,)) == 1
        assert srv.scalar("SELECT count(*) FROM epcis_imports") == 1
        acked.update(dict(srv.query("SELECT event_id, sequence FROM events WHERE event_id NOT LIKE 'df-%'")))

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


def test_odoo_posting_on_a_full_disk_posts_each_thing_once(binary, server_factory, emulator_factory, small_disk):
    """The poster reaches Odoo while the store cannot record that it did (disk full): once space
    returns, what it posts again finds what is there — each thing in Odoo exactly once."""
    emu = emulator_factory(18)
    day = PlantDay()
    day.seed(emu)
    emu.fault("down", times=-1)
    srv = server_factory(gateway_args(emu), data=small_disk / "data")
    day.publish(srv)
    filler = small_disk / "filler"
    fill(filler)
    emu.clear_faults()
    # Odoo hears of the day (the poster posts), the store cannot mark the rows posted.
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline and emu.stats()["requests"] < 40:
        time.sleep(0.2)
    time.sleep(2)
    assert srv.alive(), srv.stderr_tail()
    states_while_full = outbox_states(srv)
    print(f"odoo on a full disk: {emu.stats()['requests']} requests to Odoo, outbox {states_while_full}; "
          f"{srv.stderr_tail().count('error')} errors logged")
    filler.unlink()
    assert wait_drained(srv) == {"posted": 14}
    day.check(emu)
    r = reconcile(binary, srv, emu)
    assert r.returncode == 0, r.stdout + r.stderr
