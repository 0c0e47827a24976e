"""`mesgate trace`: the same answer from the store (--data) and from a server (--server), as a
tree, JSON, DOT and SVG (graphviz)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "plantgen"))
import plantgen  # noqa: E402


@pytest.fixture(scope="module")
def loaded(pb, server):
    events = plantgen.generate(5, 1500, rework_every=10)
    m, c = pb.events_pb2, pb.common_pb2
    with server.channel() as ch:
        acks = list(pb.events_pb2_grpc.EventIngestStub(ch).PublishStream(
            iter([plantgen.to_pb(e, m, c) for e in events]), timeout=60))
    assert all(a.result == m.Ack.ACCEPTED for a in acks)
    raw = next(e["lot"] for e in events if e["kind"] == "received" and e["lot"]["product"] == "L0-P0")
    pallet = next(e["lot"] for e in events if e["kind"] == "shipped" and e["lot"]["container"])
    return server, raw, pallet


def mesgate(binary, *args):
    out = subprocess.run([str(binary), "trace", *args], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout


def test_json_from_store_and_server_agree(binary, loaded):
    server, raw, _ = loaded
    start = ["--product", raw["product"], "--lot", raw["lot"], "--forward", "--format", "json"]
    local = json.loads(mesgate(binary, "--data", str(server.data), *start))
    remote = json.loads(mesgate(binary, "--server", server.address, *start))
    assert local["nodes"] == remote["nodes"] and len(local["nodes"]) > 5
    assert local["shipments"] == remote["shipments"] and local["shipments"]
    assert [(e["from"], e["to"], e["qty"]) for e in local["edges"]] == [(e["from"], e["to"], e["qty"]) for e in remote["edges"]]
    assert local["nodes"][0] == {"product": raw["product"], "lot": raw["lot"], "depth": 0, "status": "active"}


def test_text_tree_dot_and_svg(binary, loaded):
    server, raw, pallet = loaded
    text = mesgate(binary, "--data", str(server.data), "--container", pallet["container"], "--backward").decode()
    assert text.startswith(f"backward (what went into it) from container {pallet['container']}")
    assert "⇐ received from SUP-" in text and "\n    " in text
    dot = mesgate(binary, "--data", str(server.data), "--container", pallet["container"], "--backward",
                  "--format", "dot").decode()
    assert dot.startswith("digraph trace {") and "shape=cds" in dot
    if shutil.which("dot") is None:
        pytest.skip("graphviz is not installed")
    svg = mesgate(binary, "--data", str(server.data), "--product", raw["product"], "--lot", raw["lot"],
                  "--format", "svg")
    assert b"<svg" in svg and raw["lot"].replace("-", "&#45;").encode() in svg  # graphviz escapes "-"


def test_unknown_lot_and_bad_arguments(binary, loaded):
    server, _, _ = loaded
    for args in (["--data", str(server.data), "--product", "NOPE", "--lot", "X"],
                 ["--server", server.address, "--product", "NOPE", "--lot", "X"],
                 ["--data", str(server.data), "--product", "P"],
                 ["--data", str(server.data), "--container", "C", "--backward", "--forward"]):
        out = subprocess.run([str(binary), "trace", *args], capture_output=True, timeout=60)
        assert out.returncode != 0, args
        assert out.stderr


def test_a_server_that_never_answers_is_given_up_on(binary):
    """A port that accepts and says nothing (a TLS port, a hung server): the command gives up after
    --timeout-seconds with a message saying so; it used to wait for more than 11 minutes."""
    import socket
    import time

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        began = time.monotonic()
        out = subprocess.run([str(binary), "trace", "--server", f"127.0.0.1:{port}", "--container", "PAL-1",
                              "--timeout-seconds", "2"], capture_output=True, timeout=60)
        took = time.monotonic() - began
    assert out.returncode != 0
    assert b"no answer from" in out.stderr and b"within 2 s" in out.stderr, out.stderr
    assert took < 15, f"gave up after {took:.1f} s"
    refused = subprocess.run([str(binary), "trace", "--server", "127.0.0.1:1", "--container", "X",
                              "--timeout-seconds", "0"], capture_output=True, timeout=60)
    assert refused.returncode != 0 and b"--timeout-seconds must be at least 1" in refused.stderr
