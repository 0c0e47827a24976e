"""deploy/ stays true: the example configs are accepted by this build, the alert rules and the
scrape config pass promtool, and CONFIG.md documents every key the binary knows."""

import json
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import REPO, Server
from test_security import test_ca  # noqa: F401  (fixture)

DEPLOY = REPO / "deploy"


def test_example_config_with_every_key_serves(binary, tmp_path, test_ca, pb):  # noqa: F811
    config = json.loads((DEPLOY / "mesgate.json").read_text())
    tokens = tmp_path / "tokens"
    tokens.write_text("")
    # Paths of this machine instead of /etc and /var/lib; every other value as shipped.
    config.update({"data": str(tmp_path / "data"), "tokens": str(tokens), "tls-cert": str(test_ca / "server.pem"),
                   "tls-key": str(test_ca / "server.key"), "tls-client-ca": str(test_ca / "ca.pem")})
    path = tmp_path / "mesgate.json"
    path.write_text(json.dumps(config))
    from test_security import TLSServer

    srv = TLSServer(binary, tmp_path / "data", tmp_path / "logs", extra_args=["--config", str(path)], ca=test_ca,
                    client_cert=True)
    srv.start()
    try:
        assert json.loads(srv.stderr_path.read_text().splitlines()[0])["level"]  # log-format json took effect
    finally:
        assert srv.stop() == 0


def test_kubernetes_configmap_config_is_accepted(binary, tmp_path):
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "mesgate.yaml").read_text()))
    config = json.loads(next(d for d in docs if d["kind"] == "ConfigMap")["data"]["mesgate.json"])
    tokens = tmp_path / "tokens"
    tokens.write_text("")
    config.update({"data": str(tmp_path / "data"), "tokens": str(tokens)})
    path = tmp_path / "mesgate.json"
    path.write_text(json.dumps(config))
    srv = Server(binary, tmp_path / "data", tmp_path / "logs", extra_args=["--config", str(path)]).start()
    assert srv.stop() == 0
    probes = next(d for d in docs if d["kind"] == "StatefulSet")["spec"]["template"]["spec"]["containers"][0]
    assert all("grpc" in probes[p] for p in ("readinessProbe", "startupProbe"))
    # Not gRPC health: that is NOT_SERVING while the disk is full, and a restart frees no space.
    assert probes["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}


def test_config_md_documents_every_option(binary):
    help_text = subprocess.run([str(binary), "serve", "--help"], capture_output=True, text=True, timeout=10).stdout
    options = set(re.findall(r"--([a-z][a-z-]+)", help_text)) - {"help", "version", "config"}
    documented = set(re.findall(r"^\| `([a-z-]+)`", (DEPLOY / "CONFIG.md").read_text(), re.M))
    assert options <= documented, options - documented
    assert set(json.loads((DEPLOY / "mesgate.json").read_text())) == documented


def test_prometheus_files_pass_promtool():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian's prometheus) is not installed")
    for args in (["check", "rules", "mesgate-alerts.yml"], ["check", "config", "prometheus.yml"]):
        r = subprocess.run([promtool, *args], cwd=DEPLOY / "prometheus", capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr


def test_grafana_dashboard_queries_exported_metrics():
    dashboard = json.loads((DEPLOY / "grafana" / "mesgate-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    names = set(re.findall(r"mesgate_[a-z_]+", " ".join(exprs)))
    exported = {"mesgate_serving", "mesgate_outbox_rows", "mesgate_exceptions", "mesgate_auth_failures_total",
                "mesgate_outbox_oldest_waiting_age_seconds", "mesgate_grpc_calls_total",
                "mesgate_ingest_ack_latency_seconds_bucket", "mesgate_store_events_committed_total",
                "mesgate_store_events_duplicate_total", "mesgate_store_events_failed_total",
                "mesgate_store_commit_batch_events_sum", "mesgate_store_commit_batch_events_count",
                "mesgate_store_commit_batch_events_bucket", "mesgate_store_queue_depth"}
    assert names <= exported, names - exported
