"""The hash-chained audit trail end to end: a real `mesgate serve` with tokens stores events, a
hold placed and released, an export, an authentication failure and two token reloads (one refused); after it stops,
`mesgate audit verify` exits 0, and after the SQLite file is tampered with by Python's sqlite3
(a byte of an event, a deleted row, two rows swapped, the tail cut) it exits 1 naming the entry."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import grpc
import pytest

from conftest import REPO, RPC_TIMEOUT_S, token_line



def bearer(token: str):
    return (("authorization", f"Bearer {token}"),)


def mk(pb, eid, wo="", **body):
    e = pb.events_pb2.Event(event_id=eid, occurred_at_ms=1_780_000_000_000, tz_offset="+02:00", plant="P",
                            work_center="WC", operator_id="op", work_order=wo)
    for k, v in body.items():
        getattr(e, k).CopyFrom(v)
    return e


def audit(binary: Path, data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), "audit", *args, "--data", str(data)], capture_output=True, text=True,
                          timeout=60)


@pytest.fixture(scope="module")
def trail(binary, tmp_path_factory, pb):
    """A stopped server's data folder with a full trail, and what went into it."""
    from conftest import Server

    base = tmp_path_factory.mktemp("audit")
    tokens = base / "tokens"
    tokens.write_text(token_line("line-1", "mes", "mes-token") + token_line("qa-desk", "quality", "qa-token")
                      + token_line("audit-desk", "auditor", "audit-token"))
    srv = Server(binary, base / "data", base / "logs", extra_args=["--tokens", str(tokens)])
    srv.start()
    m, c = pb.events_pb2, pb.common_pb2
    R = c.LotRef(product="RESIN", lot="R-1")
    evs = [
        mk(pb, "a-1", received=m.MaterialReceived(lot=R, qty=c.Quantity(value=10, uom="kg"), supplier="ACME")),
        mk(pb, "a-2", wo="MO-1", consumed=m.MaterialConsumed(component=R, qty=c.Quantity(value=2, uom="kg"))),
        mk(pb, "a-3", wo="MO-1", produced=m.ProductionReported(output=c.LotRef(product="CAP", lot="C-1"),
                                                               good=c.Quantity(value=5, uom="Units"))),
    ]
    with srv.channel() as ch:
        ingest = pb.events_pb2_grpc.EventIngestStub(ch)
        for e in evs[:2]:
            assert ingest.Publish(e, metadata=bearer("mes-token"), timeout=RPC_TIMEOUT_S).result == m.Ack.ACCEPTED
        acks = list(ingest.PublishStream(iter(evs[2:]), metadata=bearer("mes-token"), timeout=RPC_TIMEOUT_S))
        assert [a.result for a in acks] == [m.Ack.ACCEPTED]
        quality = pb.quality_pb2_grpc.QualityStub(ch)
        q = pb.quality_pb2
        quality.PlaceHold(q.HoldRequest(lot=R, reason="odour", propagate=True), metadata=bearer("qa-token"),
                          timeout=RPC_TIMEOUT_S)
        quality.ReleaseHold(q.HoldRequest(lot=R, reason="lab ok"), metadata=bearer("qa-token"), timeout=RPC_TIMEOUT_S)
        g = pb.genealogy_pb2
        export = g.ExportRequest(lot=R, direction=pb.common_pb2.FORWARD, format=g.ExportRequest.FSMA204_CSV)
        chunks = list(pb.genealogy_pb2_grpc.GenealogyStub(ch).Export(export, metadata=bearer("audit-token"),
                                                                    timeout=RPC_TIMEOUT_S))
        assert b"".join(c.data for c in chunks)
        with pytest.raises(grpc.RpcError) as refused:
            ingest.Publish(mk(pb, "a-4", received=evs[0].received), metadata=bearer("wrong-token"),
                           timeout=RPC_TIMEOUT_S)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    for contents, logged in ((tokens.read_text(), "auth.tokens.reloaded"), ("qa-desk nobody sha256:00\n", "auth.tokens.reload_failed")):
        tokens.write_text(contents)
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while logged not in srv.stderr_tail() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert logged in srv.stderr_tail()
    assert srv.stop() == 0
    return srv.data


@pytest.fixture
def copy(trail, tmp_path):
    """A copy of the trail's data folder, to tamper with."""
    dest = tmp_path / "data"
    shutil.copytree(trail, dest)
    return dest


def tamper(data: Path, *statements: tuple[str, tuple]) -> None:
    con = sqlite3.connect(data / "genealogy.sqlite")
    # Anyone with the file can drop the append-only triggers: verify must not rely on them.
    con.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    con.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    for sql, args in statements:
        con.execute(sql, args)
    con.commit()
    con.close()


def rows(data: Path, sql: str, args: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(data / "genealogy.sqlite")
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def entry_of_event(data: Path, seq: int) -> int:
    """The id of the `event_stored` entry that describes event `seq`: a run `events:<first>-<last>`."""
    for entry, subject in rows(data, "SELECT id, subject FROM audit_log WHERE action = 'event_stored'"):
        first, last = (int(n) for n in subject.removeprefix("events:").split("-"))
        if first <= seq <= last:
            return entry
    raise AssertionError(f"no entry describes event {seq}")


def test_the_intact_trail_verifies_and_lists_who_what_when_why(binary, trail):
    r = audit(binary, trail, "verify")
    assert r.returncode == 0, r.stderr
    entries = rows(trail, "SELECT count(*), max(id) FROM audit_log")[0]
    head = rows(trail, "SELECT hex(hash) FROM audit_log ORDER BY id DESC LIMIT 1")[0][0].lower()
    assert r.stdout.strip() == f"audit trail intact: {entries[0]} entries, head {entries[1]} sha256:{head}"

    listed = json.loads(audit(binary, trail, "list", "--json").stdout)
    actions = [e["action"] for e in listed]
    assert actions.count("event_stored") == 3
    assert {"hold_placed", "hold_released", "auth_failure", "config_reload"} <= set(actions)
    events = [e for e in listed if e["action"] == "event_stored"]
    assert {e["actor"] for e in events} == {"line-1"}
    hold = next(e for e in listed if e["action"] == "hold_placed")
    assert hold["actor"] == "qa-desk" and hold["reason"] == "odour" and "RESIN" in hold["subject"]
    failure = next(e for e in listed if e["action"] == "auth_failure")
    assert failure["reason"] == "unknown_token" and failure["subject"] == "/mes.v1.EventIngest/Publish"
    assert "127.0.0.1" in failure["actor"]
    export = next(e for e in listed if e["action"] == "export")
    assert export["actor"] == "audit-desk" and "RESIN" in export["subject"] and "FSMA204" in export["detail"].upper()
    reloads = [(e["actor"], e["reason"]) for e in listed if e["action"] == "config_reload"]
    assert reloads == [("SIGHUP", "reloaded"), ("SIGHUP", "refused")]

    only = audit(binary, trail, "list", "--action", "hold_released", "--since", "2020-01-01")
    assert only.returncode == 0 and len(only.stdout.strip().splitlines()) == 1 and "why: lab ok" in only.stdout


def test_a_changed_byte_of_an_event_is_named(binary, copy):
    seq, raw = rows(copy, "SELECT sequence, raw FROM events ORDER BY sequence LIMIT 1 OFFSET 1")[0]
    entry = entry_of_event(copy, seq)
    changed = bytearray(raw)
    changed[len(changed) // 2] ^= 0x01
    tamper(copy, ("UPDATE events SET raw = ? WHERE sequence = ?", (bytes(changed), seq)))
    r = audit(binary, copy, "verify")
    assert r.returncode == 1
    assert f"entry {entry}: event sequence {seq} differs from its audit digest" in r.stderr


def test_a_deleted_entry_is_named(binary, copy):
    tamper(copy, ("DELETE FROM audit_log WHERE id = 3", ()))
    r = audit(binary, copy, "verify")
    assert r.returncode == 1
    assert "entry 3 missing (removed; 2 → 4)" in r.stderr


def test_a_deleted_event_is_named(binary, copy):
    seq = rows(copy, "SELECT max(sequence) FROM events")[0][0]
    entry = entry_of_event(copy, seq)
    tamper(copy, ("DELETE FROM events WHERE sequence = ?", (seq,)))
    r = audit(binary, copy, "verify")
    assert r.returncode == 1
    assert f"entry {entry}: event sequence {seq} is missing (deleted)" in r.stderr


def test_two_swapped_entries_are_named(binary, copy):
    cols = "at_ms, actor, action, subject, reason, detail, record_digest, prev_hash, hash"
    a, b = rows(copy, f"SELECT {cols} FROM audit_log WHERE id = 2")[0], rows(copy, f"SELECT {cols} FROM audit_log WHERE id = 5")[0]
    sets = ", ".join(f"{c.strip()} = ?" for c in cols.split(","))
    tamper(copy, (f"UPDATE audit_log SET {sets} WHERE id = 2", b), (f"UPDATE audit_log SET {sets} WHERE id = 5", a))
    r = audit(binary, copy, "verify")
    assert r.returncode == 1
    assert "entry 2: out of order (reordered)" in r.stderr


def test_a_cut_tail_needs_the_recorded_head(binary, copy):
    head_id, head = rows(copy, "SELECT id, hex(hash) FROM audit_log ORDER BY id DESC LIMIT 1")[0]
    anchor = f"{head_id}:{head.lower()}"
    assert audit(binary, copy, "verify", "--anchor", anchor).returncode == 0
    tamper(copy, ("DELETE FROM audit_log WHERE id = ?", (head_id,)))
    # What the file alone cannot show (see genealogy/MODEL.md) ...
    assert audit(binary, copy, "verify").returncode == 0
    # ... the head recorded elsewhere does.
    r = audit(binary, copy, "verify", "--anchor", anchor)
    assert r.returncode == 1 and f"entry {head_id} missing" in r.stderr and "truncated" in r.stderr


def test_verify_without_a_store_or_with_a_bad_anchor(binary, tmp_path, trail):
    r = audit(binary, tmp_path / "nothing", "verify")
    assert r.returncode == 2 and "no store" in r.stderr
    r = audit(binary, tmp_path / "nothing", "list")
    assert r.returncode == 2 and "no store" in r.stderr
    r = audit(binary, trail, "verify", "--anchor", "7:abc")
    assert r.returncode != 0 and "--anchor" in r.stderr
    r = audit(binary, trail, "list", "--since", "yesterday")
    assert r.returncode != 0 and "--since" in r.stderr
    # A misspelt action is named with the ones there are, not answered with an empty list.
    r = audit(binary, trail, "list", "--action", "hold_place")
    assert r.returncode != 0 and "unknown --action hold_place" in r.stderr and "hold_placed" in r.stderr, r.stderr
    r = audit(binary, trail, "list", "--limit=-1")
    assert r.returncode != 0 and "--limit must be 0 or more" in r.stderr


def test_an_anchor_that_differs_is_a_rewrite(binary, copy):
    r = audit(binary, copy, "verify", "--anchor", "2:" + "0" * 64)
    assert r.returncode == 1 and "entry 2: hash differs from the anchor (rewritten)" in r.stderr


def test_the_storage_ceiling_writes_the_chain_mesgate_verifies(binary, tmp_path):
    """bench/ingest/sqlite_ceiling.c does the audit work in C (OpenSSL); its chain must be the
    very bytes mesgate writes, or the ceiling would not measure the same thing."""
    exe = tmp_path / "sqlite_ceiling"
    subprocess.run(["cc", "-O2", "-o", str(exe), str(REPO / "bench/ingest/sqlite_ceiling.c"), "-lsqlite3", "-lcrypto"],
                   check=True, timeout=120)
    schema = tmp_path / "schema.sql"
    schema.write_text("\n".join(p.read_text() for p in sorted((REPO / "genealogy/migrations").glob("*.sql"))))
    data = tmp_path / "data"
    data.mkdir()
    subprocess.run([str(exe), str(data / "genealogy.sqlite"), str(schema), "3000", "1000", "OFF"], check=True,
                   capture_output=True, timeout=120)
    r = audit(binary, data, "verify")
    assert r.returncode == 0, r.stderr
    # One entry per transaction's run of 1,000 events, as mesgate's writer makes them.
    assert r.stdout.startswith("audit trail intact: 3 entries, head 3 sha256:")
    assert [s for (s,) in rows(data, "SELECT subject FROM audit_log ORDER BY id")] == [
        "events:1-1000", "events:1001-2000", "events:2001-3000"]


def test_an_export_from_the_store_is_audited_too(binary, copy, tmp_path):
    out = tmp_path / "r1.csv"
    # Under the operating-system account, also when the environment has no USER (systemd, cron).
    env = {k: v for k, v in os.environ.items() if k not in ("USER", "SUDO_USER")}
    r = subprocess.run([str(binary), "export", "--data", str(copy), "--product", "RESIN", "--lot", "R-1",
                        "--format", "fsma204", "--out", str(out)], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0
    assert r.stderr == f"mesgate: wrote {out.stat().st_size} bytes to {out}\n"  # -o says what it wrote
    listed = json.loads(audit(binary, copy, "list", "--action", "export", "--json").stdout)
    assert len(listed) == 2 and {e["actor"] for e in listed} >= {"audit-desk"}
    cli = next(e for e in listed if e["actor"].endswith("(mesgate export --data)"))
    assert cli["actor"] == f"{pwd.getpwuid(os.getuid()).pw_name} (mesgate export --data)"
    assert "RESIN" in cli["subject"] and "fsma204" in cli["detail"].lower()
    assert audit(binary, copy, "verify").returncode == 0
