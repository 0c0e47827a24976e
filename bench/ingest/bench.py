#!/usr/bin/env python3
"""Ingest benchmark driver (called by bench/ingest/run). Measures, in one run, on loopback:
  (a) nghttpd serving a tiny static file to h2load: the HTTP/2 ceiling of this machine
  (b) sqlite_ceiling: SQLite WAL + synchronous=FULL, 1000 events/transaction, mesgate's schema and rows
  (c) mesgate under h2load: grpc.health.v1.Health/Check, and mes.v1.EventIngest/Publish with one
      body repeated (so 1 ACCEPTED then all DUPLICATE: a dedup-path figure, not a store figure)
  (d) mesgate PublishStream from a grpcio client: distinct events, N streams, a window in flight
and prints req/s or events/s, h2load latency lines, the server's CPU time and peak RSS, and the
ratios mesgate / ceiling. With --runs R > 1 it repeats everything and reports medians.
Every step is bounded (h2load -n, timeouts); servers are stopped at the end."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CLK_TCK = os.sysconf("SC_CLK_TCK")
STEP_TIMEOUT_S = 180


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime (fields 14, 15)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)


def generate_stubs(out: Path) -> Path:
    from grpc_tools import protoc

    include = Path(protoc.__file__).resolve().parent / "_proto"
    protos = [str(p.relative_to(REPO / "proto")) for p in sorted((REPO / "proto" / "mes").rglob("*.proto"))]
    rc = protoc.main(["protoc", f"-I{REPO / 'proto'}", f"-I{include}", f"--python_out={out}",
                      f"--grpc_python_out={out}", *protos])
    if rc != 0:
        raise RuntimeError("grpc_tools.protoc failed")
    return out


def grpc_frame(message: bytes) -> bytes:
    return b"\x00" + len(message).to_bytes(4, "big") + message


def make_bodies(stubs: Path, out: Path) -> tuple[Path, Path]:
    """The 5-byte-prefixed request bodies h2load sends: an empty HealthCheckRequest and one Event."""
    sys.path.insert(0, str(stubs))
    from mes.v1 import common_pb2, events_pb2

    health = out / "health.body"
    health.write_bytes(grpc_frame(b""))
    e = events_pb2.Event(
        event_id=f"h2load-{os.getpid()}-{time.time_ns()}", occurred_at_ms=int(time.time() * 1000), tz_offset="+02:00",
        plant="PLANT-1", work_center="WC-CUT", operator_id="op-17", work_order="WH/MO/00042",
        consumed=events_pb2.MaterialConsumed(component=common_pb2.LotRef(product="STEEL-S235", lot="S-1"),
                                             qty=common_pb2.Quantity(value=12.5, uom="kg"),
                                             into=common_pb2.LotRef(product="BRACKET-7", lot="B-1")))
    publish = out / "publish.body"
    publish.write_bytes(grpc_frame(e.SerializeToString()))
    return health, publish


H2LOAD_LATENCY = ("time for request:", "time for connect:", "time to 1st byte:", "req/s           :")


def h2load(url: str, n: int, c: int, m: int, headers=(), body: Path | None = None) -> dict:
    cmd = ["h2load", "-n", str(n), "-c", str(c), "-m", str(m)]
    for h in headers:
        cmd += ["-H", h]
    if body is not None:
        cmd += ["-d", str(body)]
    cmd.append(url)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=STEP_TIMEOUT_S)
    out = p.stdout
    fin = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", out)
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                    r"(\d+) errored, (\d+) timeout", out)
    if p.returncode != 0 or not fin or not req:
        raise RuntimeError(f"h2load failed ({p.returncode}): {' '.join(cmd)}\n{out}\n{p.stderr}")
    status = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    return {
        "command": " ".join(cmd),
        "req_per_s": float(fin.group(3)),
        "seconds": float(fin.group(1)) / (1000 if fin.group(2) == "ms" else 1),
        "succeeded": int(req.group(4)),
        "failed": int(req.group(5)) + int(req.group(6)) + int(req.group(7)),
        "status_2xx": int(status.group(1)) if status else None,
        "latency": [ln.rstrip() for ln in out.splitlines() if ln.strip().startswith(H2LOAD_LATENCY)],
        "latency_header": next((ln for ln in out.splitlines() if "+/- sd" in ln), "").rstrip(),
    }


def run_once(args, work: Path, bodies: tuple[Path, Path], stubs: Path) -> dict:
    health_body, publish_body = bodies
    r: dict = {}

    # (a) HTTP/2 ceiling: nghttpd + h2load, tiny static file.
    docroot = work / "docroot"
    docroot.mkdir(exist_ok=True)
    (docroot / "tiny.txt").write_bytes(b"ok\n")
    port = free_port()
    nghttpd = subprocess.Popen(["nghttpd", "--no-tls", "-d", str(docroot), str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, nghttpd)
        cpu0 = cpu_seconds(nghttpd.pid)
        log(f"(a) nghttpd + h2load -n {args.h2_n} ...")
        r["nghttpd"] = h2load(f"http://127.0.0.1:{port}/tiny.txt", args.h2_n, 4, 32)
        r["nghttpd"]["server_cpu_s"] = cpu_seconds(nghttpd.pid) - cpu0
        r["nghttpd"]["server_peak_rss_mib"] = peak_rss_mib(nghttpd.pid)
    finally:
        stop(nghttpd)

    # (b) storage ceiling.
    db = work / "ceiling.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    log(f"(b) sqlite_ceiling {args.sqlite_events} events ...")
    schema = REPO / "genealogy" / "migrations" / "0001_initial.sql"  # mesgate's own tables and indexes
    out = subprocess.run([args.sqlite_ceiling, str(db), str(schema), str(args.sqlite_events), "1000", "FULL"],
                         capture_output=True, text=True, timeout=STEP_TIMEOUT_S, check=True).stdout
    m = re.search(r"= ([\d.]+) events/s", out)
    r["sqlite"] = {"events_per_s": float(m.group(1)), "line": out.strip()}
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)

    # (c), (d): mesgate.
    data = work / f"mesgate-data-{time.time_ns()}"
    port = free_port()
    err = open(work / "mesgate.stderr", "ab")
    srv = subprocess.Popen([args.mesgate, "serve", "--listen", f"127.0.0.1:{port}", "--data", str(data)],
                           stdout=err, stderr=err, stdin=subprocess.DEVNULL)
    try:
        wait_port(port, srv)
        time.sleep(0.3)
        grpc_headers = ["content-type: application/grpc", "te: trailers"]
        cpu0 = cpu_seconds(srv.pid)
        log(f"(c) mesgate Health/Check under h2load -n {args.grpc_n} ...")
        r["health"] = h2load(f"http://127.0.0.1:{port}/grpc.health.v1.Health/Check", args.grpc_n, 4, 32,
                             grpc_headers, health_body)
        cpu1 = cpu_seconds(srv.pid)
        r["health"]["server_cpu_s"] = cpu1 - cpu0
        log(f"(c) mesgate EventIngest/Publish (one body repeated) under h2load -n {args.grpc_n} ...")
        r["publish_dup"] = h2load(f"http://127.0.0.1:{port}/mes.v1.EventIngest/Publish", args.grpc_n, 4, 32,
                                  grpc_headers, publish_body)
        cpu2 = cpu_seconds(srv.pid)
        r["publish_dup"]["server_cpu_s"] = cpu2 - cpu1
        try:
            con = sqlite3.connect(f"file:{data / 'genealogy.sqlite'}?mode=ro", uri=True, timeout=10)
            r["publish_dup"]["events_rows"] = con.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            con.close()
        except sqlite3.Error as e:
            r["publish_dup"]["events_rows"] = f"unreadable: {e}"
        log(f"(d) grpcio PublishStream client: {args.stream_events} distinct events, {args.streams} streams ...")
        p = subprocess.run(
            [sys.executable, str(HERE / "stream_client.py"), "--stubs", str(stubs), "--target", f"127.0.0.1:{port}",
             "--events", str(args.stream_events), "--streams", str(args.streams), "--channels", str(args.channels),
             "--window", str(args.window), "--processes", str(args.processes), "--timeout", str(args.stream_timeout)],
            capture_output=True, text=True, timeout=args.stream_timeout + 60)
        if p.returncode != 0:
            raise RuntimeError(f"stream_client failed: {p.stdout}\n{p.stderr}")
        r["stream"] = json.loads(p.stdout.strip().splitlines()[-1])
        cpu3 = cpu_seconds(srv.pid)
        r["stream"]["server_cpu_s"] = cpu3 - cpu2
        r["mesgate_peak_rss_mib"] = peak_rss_mib(srv.pid)
    finally:
        stop(srv)
        err.close()
    return r


def median(runs: list[dict], *path) -> float:
    vals = []
    for run in runs:
        v = run
        for k in path:
            v = v[k]
        vals.append(v)
    return statistics.median(vals)


def report(runs: list[dict], args) -> str:
    last = runs[-1]
    n = len(runs)
    med = lambda *p: median(runs, *p)  # noqa: E731
    lines = [f"runs: {n} ({'median of ' + str(n) if n > 1 else 'single run'}; latency lines from the last run)", ""]

    def h2(name: str, key: str, note: str = ""):
        d = last[key]
        lines.append(f"{name}: {med(key, 'req_per_s'):,.0f} req/s  ({d['succeeded']} succeeded, {d['failed']} failed)"
                     + (f"  {note}" if note else ""))
        lines.append(f"  command: {d['command']}")
        if "server_cpu_s" in d:
            per = med(key, "server_cpu_s") / max(1, d["succeeded"]) * 1e6
            lines.append(f"  server CPU: {med(key, 'server_cpu_s'):.2f} s (utime+stime) = {per:.1f} µs per request")
        lines.append("  " + d["latency_header"])
        lines.extend("  " + ln for ln in d["latency"])

    h2("(a) HTTP/2 ceiling, nghttpd tiny file", "nghttpd")
    lines.append(f"  nghttpd peak RSS: {last['nghttpd']['server_peak_rss_mib']:.1f} MiB")
    lines.append("")
    lines.append(f"(b) storage ceiling, SQLite WAL synchronous=FULL 1000/txn: {med('sqlite', 'events_per_s'):,.0f} "
                 f"events/s  [last run: {last['sqlite']['line']}]")
    lines.append("")
    h2("(c) mesgate grpc.health.v1.Health/Check", "health")
    lines.append("")
    h2("(c) mesgate mes.v1.EventIngest/Publish, one body repeated", "publish_dup",
       "NOTE: h2load sends the same event every time: 1 ACCEPTED, the rest DUPLICATE (dedup path);"
       " h2load counts HTTP 200, not grpc-status")
    lines.append(f"  events rows after: {last['publish_dup'].get('events_rows')} (expected 1)")
    lines.append("")
    s = last["stream"]
    lines.append(f"(d) mesgate PublishStream, grpcio client, distinct events: {med('stream', 'events_per_s'):,.0f} "
                 f"events/s ACCEPTED  ({s['accepted']} accepted, {s['duplicate']} duplicate, {s['rejected']} rejected,"
                 f" {s['errors']} stream errors of {s['sent']} sent in {s['seconds']} s; {s['streams']} streams,"
                 f" window {s['window']}, {s['processes']} client processes)")
    per = med("stream", "server_cpu_s") / max(1, s["accepted"]) * 1e6
    lines.append(f"  server CPU: {med('stream', 'server_cpu_s'):.2f} s = {per:.1f} µs per event")
    lines.append("")
    lines.append(f"mesgate peak RSS (VmHWM, whole run): {med('mesgate_peak_rss_mib'):.1f} MiB")
    lines.append("")
    lines.append("ratios:")
    lines.append(f"  Health/Check req/s ÷ nghttpd req/s          = {med('health', 'req_per_s') / med('nghttpd', 'req_per_s'):.2f}")
    lines.append(f"  Publish (dup) req/s ÷ nghttpd req/s         = {med('publish_dup', 'req_per_s') / med('nghttpd', 'req_per_s'):.2f}")
    lines.append(f"  PublishStream events/s ÷ SQLite events/s    = {med('stream', 'events_per_s') / med('sqlite', 'events_per_s'):.2f}"
                 "  (load from a Python client; see bench/README.md)")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mesgate", required=True)
    ap.add_argument("--sqlite-ceiling", required=True)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--h2-n", type=int, default=200_000)
    ap.add_argument("--grpc-n", type=int, default=100_000)
    ap.add_argument("--sqlite-events", type=int, default=200_000)
    ap.add_argument("--stream-events", type=int, default=100_000)
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--stream-timeout", type=float, default=120)
    ap.add_argument("--json", help="also write the raw figures here")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="mesgate-bench-") as tmp:
        work = Path(tmp)
        stubs = generate_stubs(work)
        bodies = make_bodies(stubs, work)
        runs = []
        for i in range(args.runs):
            log(f"== run {i + 1}/{args.runs}")
            runs.append(run_once(args, work, bodies, stubs))
        if args.json:
            Path(args.json).write_text(json.dumps(runs, indent=2))
        print(report(runs, args))


if __name__ == "__main__":
    main()
