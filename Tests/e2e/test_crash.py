"""Crash test: an acked event survives SIGKILL, exactly once, under its acked sequence.

Streams 50,000 valid events on PublishStream, SIGKILLs the server after ~20,000 ACCEPTED acks,
restarts it on the same data folder, checks every acked event_id is stored exactly once with
the acked sequence, then re-sends all 50,000: stored ones come back DUPLICATE with their stored
sequence, the others ACCEPTED, and the table ends with 50,000 distinct events."""

import threading
import time

from conftest import publish_stream
from mesevents import event

TOTAL = 50_000
KILL_AFTER = 20_000
KINDS = ("received", "consumed", "produced", "operation", "moved", "scrapped")


def _events(run: str) -> list:
    out = []
    for i in range(TOTAL):
        e = event(KINDS[i % len(KINDS)], event_id=f"crash-{run}-{i:05d}", tag=f"{run}-{i // 60}")
        out.append(e)
    return out


def test_acked_events_survive_sigkill_exactly_once(server_factory, pb):
    Ack = pb.events_pb2.Ack
    srv = server_factory()
    run = f"{int(time.time())}"
    events = _events(run)
    acked: dict[str, int] = {}
    other: list[str] = []
    killed = threading.Event()

    def on_ack(ack):
        if ack.result == Ack.ACCEPTED:
            acked[ack.event_id] = ack.sequence
        else:
            other.append(f"{ack.event_id}: {Ack.Result.Name(ack.result)} {ack.field} {ack.reason}")
        if len(acked) >= KILL_AFTER and not killed.is_set():
            srv.kill()  # SIGKILL while events are still in flight
            killed.set()
            return False
        return True

    started = time.monotonic()
    err = publish_stream(srv, pb, events, on_ack, timeout=600)
    first_pass_s = time.monotonic() - started
    assert killed.is_set(), f"stream ended after {len(acked)} acks without reaching {KILL_AFTER} (error: {err})"
    assert not other, f"valid events not ACCEPTED in a fresh store: {other[:5]}"
    assert len(acked) >= KILL_AFTER

    srv.start()  # same data folder, same port
    rows = srv.query("SELECT event_id, sequence FROM events")
    stored: dict[str, int] = {}
    dup_ids = set()
    for event_id, seq in rows:
        if event_id in stored:
            dup_ids.add(event_id)
        stored[event_id] = seq
    assert not dup_ids, f"{len(dup_ids)} event_ids stored twice, e.g. {sorted(dup_ids)[:3]}"
    lost = [i for i in acked if i not in stored]
    assert not lost, f"{len(lost)} of {len(acked)} acked events lost by SIGKILL, e.g. {lost[:3]}"
    moved = [(i, acked[i], stored[i]) for i in acked if stored[i] != acked[i]]
    assert not moved, f"{len(moved)} acked events stored under another sequence, e.g. {moved[:3]}"
    assert len(set(stored.values())) == len(stored), "two events share a sequence"
    assert set(stored) <= {e.event_id for e in events}, "the store holds events nobody sent"

    # Re-send everything: what is stored is DUPLICATE with its stored sequence, the rest ACCEPTED.
    problems: list[str] = []
    seen: dict[str, int] = {}

    def on_resend(ack):
        seen[ack.event_id] = ack.sequence
        if ack.event_id in stored:
            if ack.result != Ack.DUPLICATE or ack.sequence != stored[ack.event_id]:
                problems.append(f"{ack.event_id}: {Ack.Result.Name(ack.result)} seq {ack.sequence}, "
                                f"expected DUPLICATE seq {stored[ack.event_id]}")
        elif ack.result != Ack.ACCEPTED:
            problems.append(f"{ack.event_id}: {Ack.Result.Name(ack.result)}, expected ACCEPTED")
        return len(problems) < 20

    err = publish_stream(srv, pb, events, on_resend, timeout=600)
    assert not problems, "\n".join(problems)
    assert err is None, f"re-send stream failed: {err.code()} {err.details()}"
    assert len(seen) == TOTAL, f"{len(seen)} acks for {TOTAL} re-sent events"
    assert srv.scalar("SELECT COUNT(*) FROM events") == TOTAL
    assert srv.scalar("SELECT COUNT(DISTINCT event_id) FROM events") == TOTAL
    assert srv.scalar("SELECT COUNT(DISTINCT sequence) FROM events") == TOTAL
    print(f"crash test: {len(acked)} acked before SIGKILL in {first_pass_s:.1f}s; "
          f"{len(stored) - len(acked)} more committed but unacked; all {TOTAL} stored once")
