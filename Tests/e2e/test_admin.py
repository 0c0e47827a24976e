"""The admin HTTP/1.1 listener as an operator and a supervisor meet it: /metrics read by a real
Prometheus (Debian's `prometheus`), /healthz and /readyz (503 while draining), and the status
page rendered by headless Chromium."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import grpc
import pytest

from conftest import RPC_TIMEOUT_S, free_port, token_line
from conftest import admin_get as get
from mesevents import event

ARTIFACTS = Path(os.environ.get("MESGATE_E2E_ARTIFACTS", "/tmp/mesgate-e2e-artifacts"))




def metric(text: str, name: str, **labels) -> float | None:
    """The value of one sample in Prometheus text format."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] != name:
            continue
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            return float(value)
    return None


@pytest.fixture(scope="module")
def busy(binary, tmp_path_factory, pb):
    """A server with tokens that has stored events, refused calls, exceptions and outbox rows."""
    from conftest import Server

    base = tmp_path_factory.mktemp("admin")
    tokens = base / "tokens"
    tokens.write_text(f"line-1 mes sha256:{hashlib.sha256(b'mes-token').hexdigest()}\n")
    srv = Server(binary, base / "data", base / "logs", extra_args=["--tokens", str(tokens)]).start()
    auth = (("authorization", "Bearer mes-token"),)
    with srv.channel() as ch:
        stub = pb.events_pb2_grpc.EventIngestStub(ch)
        for _ in range(5):
            stub.Publish(event("received"), metadata=auth, timeout=RPC_TIMEOUT_S)
        # Consumed without ever being received: an unknown_lot exception, and an outbox row.
        acks = list(stub.PublishStream(iter([event("consumed") for _ in range(4)]), metadata=auth, timeout=RPC_TIMEOUT_S))
        assert len(acks) == 4
        for _ in range(2):
            with pytest.raises(grpc.RpcError):
                stub.Publish(event("received"), metadata=(("authorization", "Bearer wrong"),), timeout=RPC_TIMEOUT_S)
    yield srv
    srv.stop()


def test_metrics_in_prometheus_text(busy):
    status, ctype, text = get(busy, "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    assert metric(text, "mesgate_grpc_calls_total", method="/mes.v1.EventIngest/Publish", code="OK") == 5
    assert metric(text, "mesgate_grpc_calls_total", method="/mes.v1.EventIngest/PublishStream", code="OK") == 1
    assert metric(text, "mesgate_grpc_calls_total", method="/mes.v1.EventIngest/Publish", code="UNAUTHENTICATED") == 2
    assert metric(text, "mesgate_auth_failures_total", reason="unknown_token") == 2
    assert metric(text, "mesgate_store_events_committed_total") == 9
    assert metric(text, "mesgate_ingest_ack_latency_seconds_count") == 9
    assert metric(text, "mesgate_ingest_ack_latency_seconds_bucket", le="+Inf") == 9
    assert metric(text, "mesgate_store_commit_batch_events_sum") == 9
    assert metric(text, "mesgate_store_queue_depth") == 0
    assert metric(text, "mesgate_outbox_rows", state="pending") == 4
    assert metric(text, "mesgate_outbox_rows", state="dead") == 0
    assert metric(text, "mesgate_exceptions", kind="unknown_lot") == 4
    assert metric(text, "mesgate_serving") == 1


def test_healthz_readyz_and_not_found(busy):
    assert get(busy, "/healthz")[0] == 200
    assert get(busy, "/readyz")[0:1] == (200,)
    assert get(busy, "/nope")[0] == 404


def test_readyz_is_503_while_draining(server_factory, pb):
    srv = server_factory(extra_args=["--shutdown-grace-seconds", "5"])
    assert get(srv, "/readyz")[0] == 200
    requests: queue.Queue = queue.Queue()
    with srv.channel() as ch:
        acks = pb.events_pb2_grpc.EventIngestStub(ch).PublishStream(iter(requests.get, None), timeout=30)
        requests.put(event("received"))
        next(acks)
        srv.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while get(srv, "/readyz")[0] != 503:
            assert time.monotonic() < deadline, "readyz still 200 while draining"
            time.sleep(0.05)
        assert get(srv, "/healthz")[0] == 200  # alive, just not taking new work
        requests.put(None)
        list(acks)
    assert srv.proc.wait(timeout=15) == 0


def test_a_real_prometheus_scrapes_the_target_up(busy, tmp_path):
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.skip("Debian's prometheus is not installed (scripts/test installs it)")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: mesgate\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{busy.admin_port}']}}]\n"
    )
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen(
        [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        target = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"{api}/targets", timeout=2) as r:
                    active = json.load(r)["data"]["activeTargets"]
                target = active[0] if active else None
                if target and target["health"] == "up":
                    break
            except (urllib.error.URLError, ConnectionError, KeyError):
                pass
            time.sleep(0.5)
        assert target and target["health"] == "up", target
        query = urllib.parse.quote('mesgate_grpc_calls_total{code="OK",method="/mes.v1.EventIngest/Publish"}')
        deadline = time.monotonic() + 20
        while True:
            with urllib.request.urlopen(f"{api}/query?query={query}", timeout=2) as r:
                result = json.load(r)["data"]["result"]
            if result or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert result and float(result[0]["value"][1]) == 5, result
        print(f"prometheus target {target['scrapeUrl']} {target['health']}; Publish OK = {result[0]['value'][1]}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_status_page_in_headless_chromium(busy, tmp_path):
    # Make one outbox row dead and one failed, as the Odoo poster would after errors (the poster is
    # another issue), so that the page shows what a supervisor must act on.
    con = sqlite3.connect(busy.db_path, timeout=10)
    with con:
        con.execute("UPDATE outbox SET state = 'dead', attempts = 12, last_error = 'Odoo: 500 Internal Server Error'"
                    " WHERE id = (SELECT min(id) FROM outbox)")
        con.execute("UPDATE outbox SET state = 'failed', attempts = 3, last_error = 'Odoo: connection refused'"
                    " WHERE id = (SELECT max(id) FROM outbox)")
    con.close()
    status, ctype, html = get(busy, "/")
    assert status == 200 and ctype.startswith("text/html")
    assert "Needs attention now" in html and "dead letters" in html
    dead_id = busy.scalar("SELECT id FROM outbox WHERE state = 'dead'")
    assert "<h2>Dead letters by order</h2>" in html and f"mesgate outbox retry {dead_id} " in html, html

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (scripts/test installs it)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "status-page.png"
    shot.unlink(missing_ok=True)
    url = f"http://127.0.0.1:{busy.admin_port}/"
    common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars"]
    r = subprocess.run([*common, "--window-size=1280,1500", f"--screenshot={shot}", url],
                       capture_output=True, text=True, timeout=90)
    assert shot.is_file() and shot.stat().st_size > 20_000, r.stderr[-2000:]
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=90).stdout
    for text in ("Needs attention now", "What is failing", "What waits for Odoo", "Odoo: 500 Internal Server Error",
                 "unknown_lot", "Refused calls", "unknown token", "Clients", "line-1",
                 "Posting to Odoo is off (no odoo-url)"):
        assert text in dom, text
    with open(shot, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    print(f"status page screenshot: {shot} ({shot.stat().st_size} bytes)")


def test_busy_admin_port_exits_non_zero_with_a_clear_line(binary, tmp_path):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = subprocess.run([str(binary), "serve", "--listen", f"127.0.0.1:{free_port()}", "--data", str(tmp_path / "d"),
                            "--admin-listen", f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=15,
                           stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert f"mesgate: cannot listen for admin HTTP on 127.0.0.1:{port}" in r.stderr, r.stderr


def test_admin_auth_token_guards_the_pages_but_not_the_probes(server_factory, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text(token_line("ops", "admin", "admin-secret") + token_line("line-1", "mes", "mes-secret"))
    srv = server_factory(extra_args=["--tokens", str(tokens), "--admin-auth", "token"])
    for path in ("/", "/metrics"):
        status, _, body = get(srv, path)
        assert status == 401, (path, status, body)
        assert get(srv, path, token="wrong")[0] == 401
        assert get(srv, path, token="mes-secret")[0] == 403  # a MES line's token does not open the pages
        status, _, body = get(srv, path, token="admin-secret")
        assert status == 200 and body, (path, status)
    assert get(srv, "/healthz")[0] == 200  # probes stay open
    assert get(srv, "/readyz")[0] == 200


def test_admin_auth_token_needs_a_token_file(binary, tmp_path):
    result = subprocess.run(
        [str(binary), "serve", "--data", str(tmp_path / "d"), "--listen", "127.0.0.1:0", "--admin-auth", "token"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "admin-auth token needs a token file" in result.stderr
