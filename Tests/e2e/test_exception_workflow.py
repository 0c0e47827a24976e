"""Exception workflows (issue 14, part 4): a downtime without end raises `machine_stopped`, which
reaches the `mes.v1.Exceptions/Subscribe` stream within a second of the event's ack, the metric
`mesgate_exceptions_open{kind}`, the status page and, as an immediate kind naming an order, a
`mail.activity` on the order in the Odoo emulator (17 and 19); a person acknowledges and closes
through grpcio and the CLI, audited; the downtime's end closes one automatically and marks its
Odoo activity done."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time

import grpc
import pytest

from conftest import RPC_TIMEOUT_S, admin_get, stubs, token_line
from odoo_harness import PlantDay, emulator_factory, gateway_args, wait_drained  # noqa: F401 (fixture)


def cli(binary, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60)


def metric(srv, name, **labels) -> float:
    _, _, text = admin_get(srv, "/metrics")
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}}"):
            return float(line.split()[-1])
    raise AssertionError(f"no {name} {labels} in /metrics")


def downtime(day: PlantDay, event_id: str, started: int, ended: int = 0):
    m = stubs().events_pb2
    return m.Event(event_id=event_id, occurred_at_ms=int(time.time() * 1000), tz_offset="+01:00", plant="P1",
                   work_center=day.wc, operator_id="op-1", work_order=day.mo_a,
                   downtime=m.DowntimeReported(reason="hydraulics", loss=m.DowntimeReported.AVAILABILITY,
                                               started_at_ms=started, ended_at_ms=ended))


class Subscription:
    """Exceptions.Subscribe read on a thread of its own into a queue."""

    def __init__(self, srv, metadata=(), **filter_fields):
        self.items: queue.Queue = queue.Queue()
        x = stubs().exceptions_pb2
        self.call = stubs().exceptions_pb2_grpc.ExceptionsStub(srv.channel()).Subscribe(
            x.ExceptionFilter(**filter_fields), metadata=metadata)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for item in self.call:
                self.items.put((time.monotonic(), item))
        except grpc.RpcError:
            pass

    def next(self, timeout: float):
        return self.items.get(timeout=timeout)

    def cancel(self):
        self.call.cancel()


@pytest.mark.parametrize("version", [17, 19])
def test_machine_stopped_reaches_every_destination_and_closes(binary, server_factory, emulator_factory, version,
                                                              tmp_path):
    emu = emulator_factory(version)
    day = PlantDay()
    day.seed(emu)
    tokens = tmp_path / "tokens"
    tokens.write_text(token_line("line-7", "mes", "mes-secret") + token_line("qe-ana", "quality", "q-secret")
                      + token_line("aud", "auditor", "a-secret"))
    srv = server_factory(gateway_args(emu) + ["--tokens", str(tokens)])
    mes = [("authorization", "Bearer mes-secret")]
    qe = [("authorization", "Bearer q-secret")]
    x = stubs().exceptions_pb2
    ex = stubs().exceptions_pb2_grpc.ExceptionsStub(srv.channel())
    ingest = stubs().events_pb2_grpc.EventIngestStub(srv.channel())

    # An auditor may not follow exceptions; mes and quality may.
    with pytest.raises(grpc.RpcError) as e:
        ex.List(x.ExceptionFilter(), timeout=RPC_TIMEOUT_S, metadata=[("authorization", "Bearer a-secret")])
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED

    andon = Subscription(srv, metadata=mes, work_center=day.wc)
    time.sleep(0.3)  # the subscription is in place before the event
    started = int(time.time() * 1000) - 60_000
    ack = ingest.Publish(downtime(day, f"stop-{day.tag}", started), timeout=RPC_TIMEOUT_S, metadata=mes)
    acked_at = time.monotonic()
    assert ack.result == stubs().events_pb2.Ack.ACCEPTED
    arrived_at, raised = andon.next(timeout=5)
    assert arrived_at - acked_at < 1.0, arrived_at - acked_at
    assert raised.kind == "machine_stopped" and raised.state == x.PlantException.OPEN
    assert raised.latency == "immediate" and raised.work_order == day.mo_a and raised.work_center == day.wc
    assert raised.event_id == f"stop-{day.tag}" and raised.sequence == ack.sequence
    assert "hydraulics" in raised.detail and "maintenance" in raised.action

    # The metric, the status page, List, the CLI.
    assert metric(srv, "mesgate_exceptions_open", kind="machine_stopped") == 1
    status, _, page = admin_get(srv, "/")
    assert status == 200 and "Open exceptions" in page and "machine_stopped" in page and day.mo_a in page, page
    listed = ex.List(x.ExceptionFilter(kinds=["machine_stopped"]), timeout=RPC_TIMEOUT_S, metadata=qe).exceptions
    assert [i.id for i in listed] == [raised.id]

    # Odoo: a To-Do activity on the production order, once.
    wait_drained(srv)
    activities = [a for a in emu.records("mail.activity")
                  if a["res_model"] == "mrp.production" and f"[MES:exception:{raised.id}]" in a["summary"]]
    mo_a = next(m for m in emu.records("mrp.production") if m["name"] == day.mo_a)
    assert len(activities) == 1 and activities[0]["res_id"] == mo_a["id"], emu.records("mail.activity")
    assert "hydraulics" in activities[0]["note"]

    # A mes token may not acknowledge; quality may, then close: audited under the token's client.
    with pytest.raises(grpc.RpcError) as e:
        ex.Acknowledge(x.ExceptionAction(id=raised.id, reason="seen"), timeout=RPC_TIMEOUT_S, metadata=mes)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as e:
        ex.Acknowledge(x.ExceptionAction(id=raised.id), timeout=RPC_TIMEOUT_S, metadata=qe)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    acked = ex.Acknowledge(x.ExceptionAction(id=raised.id, reason="maintenance on its way"), timeout=RPC_TIMEOUT_S,
                           metadata=qe)
    assert acked.state == x.PlantException.ACKNOWLEDGED and acked.acknowledged_by == "qe-ana"
    _, changed = andon.next(timeout=5)
    assert changed.id == raised.id and changed.state == x.PlantException.ACKNOWLEDGED
    assert metric(srv, "mesgate_exceptions_open", kind="machine_stopped") == 0
    assert metric(srv, "mesgate_exceptions_acknowledged", kind="machine_stopped") == 1
    r = cli(binary, "exceptions", "close", str(raised.id), "--reason", "pump replaced", "--server", srv.address,
            "--token", "q-secret")
    assert r.returncode == 0 and "closed" in r.stdout and "pump replaced" in r.stdout, r.stdout + r.stderr
    _, closed = andon.next(timeout=5)
    assert closed.state == x.PlantException.CLOSED and closed.closed_by == "qe-ana"
    with pytest.raises(grpc.RpcError) as e:
        ex.Close(x.ExceptionAction(id=raised.id, reason="again"), timeout=RPC_TIMEOUT_S, metadata=qe)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    audit = srv.query("SELECT action, actor, subject, reason FROM audit_log WHERE subject LIKE 'exception:%' ORDER BY id")
    assert audit == [("exception_acknowledged", "qe-ana", f"exception:{raised.id} machine_stopped",
                      "maintenance on its way"),
                     ("exception_closed", "qe-ana", f"exception:{raised.id} machine_stopped", "pump replaced")], audit
    # Closed: the activity is done, with who and why in the order's chatter.
    wait_drained(srv)
    assert not [a for a in emu.records("mail.activity") if f"[MES:exception:{raised.id}]" in a["summary"]]
    done = [m["body"] for m in emu.records("mail.message")
            if m["model"] == "mrp.production" and f"[MES:exception:{raised.id}]" in m["body"]]
    assert len(done) == 1 and "Closed by qe-ana: pump replaced" in done[0], done

    # A second stop; the downtime's end closes it by itself.
    second = int(time.time() * 1000) - 5_000
    ingest.Publish(downtime(day, f"stop2-{day.tag}", second), timeout=RPC_TIMEOUT_S, metadata=mes)
    _, again = andon.next(timeout=5)
    assert again.kind == "machine_stopped" and again.state == x.PlantException.OPEN
    ingest.Publish(downtime(day, f"stop2-end-{day.tag}", second, int(time.time() * 1000)), timeout=RPC_TIMEOUT_S,
                   metadata=mes)
    _, ended = andon.next(timeout=5)
    assert ended.id == again.id and ended.state == x.PlantException.CLOSED and ended.closed_by == "mesgate"
    assert f"stop2-end-{day.tag}" in ended.close_reason
    assert metric(srv, "mesgate_exceptions_open", kind="machine_stopped") == 0
    andon.cancel()
    wait_drained(srv)
    assert not [a for a in emu.records("mail.activity") if f"[MES:exception:{again.id}]" in a["summary"]]
    assert srv.query("SELECT state, count(*) FROM outbox WHERE exception_id IS NOT NULL GROUP BY state") == \
        [("posted", 4)]
    r = cli(binary, "audit", "verify", "--data", str(srv.data))
    assert r.returncode == 0 and "intact" in r.stdout, r.stdout + r.stderr


def test_cli_lists_acknowledges_and_closes_on_the_data_folder(binary, server_factory, tmp_path):
    """Without a server: `mesgate exceptions` lists them with their state, `ack` and `close` act on
    the store in --data, audited under the operating-system user."""
    day = PlantDay()
    srv = server_factory([])
    ingest = stubs().events_pb2_grpc.EventIngestStub(srv.channel())
    ingest.Publish(downtime(day, f"stop-{day.tag}", int(time.time() * 1000) - 1_000), timeout=RPC_TIMEOUT_S)
    srv.stop()
    r = cli(binary, "exceptions", "--data", str(srv.data))
    assert r.returncode == 0 and "machine_stopped: 1" in r.stdout, r.stdout + r.stderr
    assert f"open machine_stopped event stop-{day.tag} (sequence 1) order {day.mo_a}:" in r.stdout, r.stdout
    r = cli(binary, "exceptions", "ack", "1", "--reason", "looking", "--data", str(srv.data))
    assert r.returncode == 0 and "acknowledged" in r.stdout and "(mesgate exceptions): looking" in r.stdout, r.stdout
    r = cli(binary, "exceptions", "close", "1", "--reason", "fixed", "--data", str(srv.data), "--json")
    assert r.returncode == 0, r.stderr
    closed = json.loads(r.stdout)
    assert closed["state"] == "closed" and closed["close_reason"] == "fixed" and closed["closed_by"].endswith(
        "(mesgate exceptions)")
    r = cli(binary, "exceptions", "--data", str(srv.data))
    assert "open machine_stopped" not in r.stdout, r.stdout
    r = cli(binary, "exceptions", "--data", str(srv.data), "--all", "--json")
    assert [x["state"] for x in json.loads(r.stdout)["exceptions"]] == ["closed"]
    r = cli(binary, "audit", "list", "--data", str(srv.data))
    assert "exception_acknowledged exception:1 machine_stopped" in r.stdout, r.stdout
    assert "exception_closed exception:1 machine_stopped" in r.stdout, r.stdout
    r = cli(binary, "audit", "verify", "--data", str(srv.data))
    assert r.returncode == 0, r.stdout + r.stderr
