#!/usr/bin/env python3
"""Ingest benchmark driver (called by bench/ingest/run). Measures, in one run, on loopback:
  (a) nghttpd serving a tiny static file to h2load: the HTTP/2 ceiling of this machine; (a') the same
      again right before (c), so Health/Check is also compared with a ceiling measured next to it
  (b) sqlite_ceiling: mesgate's schema, the rows mesgate writes for mesgate-load's events, WAL +
      synchronous=FULL, 1000 events/transaction; and the fsync latency of the disk
  (c) mesgate under h2load: grpc.health.v1.Health/Check, and mes.v1.EventIngest/Publish with one
      body repeated (so 1 ACCEPTED then all DUPLICATE: a dedup-path figure, not a store figure)
  (d) optional (--grpcio): mesgate PublishStream from a grpcio client
  (e) mesgate-load (bench/load, nghttp2): PublishStream at full speed, distinct events, every Ack read
  (e2) the same with the plant mix: --mix-events events of bench/plantgen (seed 7), generated once per
      bench run, sent with mesgate-load --events-file (each id prefixed with the run's id)
  (f) mesgate-load unary Publish: distinct events, calls in flight per connection
  (g) mesgate-load PublishStream paced at half of (e): ack latency percentiles
  (j) the same paced at 1,000 events/s (run right after (g)): ack latency percentiles
  (e), (e2), (g) and (j) also print the store writer thread's CPU per event and how busy it was
  (h) backpressure: paced at twice (e) with a deep window; RSS sampled; every event must be ACCEPTED
  (i) optional (--soak-seconds S): paced at half of (e) for S seconds, RSS sampled, first vs last
and prints events/s or req/s, latency, the server's CPU time and peak RSS, and the ratios
mesgate / ceiling with their targets. With --runs R > 1 it repeats everything and reports medians
(--json FILE keeps every run's figures and those medians).
Every step is bounded (h2load -n, timeouts); servers are stopped at the end."""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
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


def stat_cpu_seconds(stat: Path) -> float:
    """utime + stime (fields 14, 15) of a /proc `stat` file, a process's or a thread's."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_seconds(pid: int) -> float:
    return stat_cpu_seconds(Path(f"/proc/{pid}/stat"))


def thread_cpu_seconds(pid: int, name: str) -> float:
    """utime + stime of the process's thread called `name` (mesgate names its store writer
    "mesgate-writer"); NaN when there is none."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (task / "comm").read_text().strip() == name:
                return stat_cpu_seconds(task / "stat")
        except OSError:
            continue
    return float("nan")


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


def make_mix(work: Path, events: int) -> Path:
    """The plant mix (e2) sends: `events` events of bench/plantgen, seed 7, length-delimited. Made
    once per bench run, outside every timed phase (100,000 events take a few seconds)."""
    out = work / f"plant-mix-{events}.bin"
    subprocess.run([sys.executable, str(REPO / "bench" / "plantgen" / "plantgen.py"), "--seed", "7", "--events",
                    str(events), "--out", str(out)], capture_output=True, text=True,
                   timeout=STEP_TIMEOUT_S + events // 1000, check=True)
    return out


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


SERVER_HISTOGRAMS = ("mesgate_ingest_ack_latency_seconds", "mesgate_store_queue_wait_seconds",
                     "mesgate_store_commit_seconds", "mesgate_store_wal_tail_copy_seconds",
                     "mesgate_store_wal_sync_seconds")


def server_histograms(admin_port: int) -> dict:
    """The cumulative bucket counts of the server's latency histograms, from its /metrics."""
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=10) as response:
        text = response.read().decode()
    found: dict = {name: {} for name in SERVER_HISTOGRAMS}
    for line in text.splitlines():
        m = re.match(r'(\w+)_bucket\{(?:[^}]*,)?le="([^"]+)"[^}]*\} ([\d.e+]+)', line)
        if m and m.group(1) in found:
            le = float("inf") if m.group(2) == "+Inf" else float(m.group(2))
            found[m.group(1)][le] = found[m.group(1)].get(le, 0) + float(m.group(3))
    return found


def histogram_quantiles(before: dict, after: dict) -> dict:
    """p50/p99 (the upper bound of the bucket holding them, in ms) of what the histograms counted
    between two scrapes, and how many took longer than 10 and 25 ms: the server's own view of the
    same phase. (A paced run's p99 is often a handful of slow syncs of the log, which the syncs'
    own p99 does not show: one 80 ms sync at 1,000 events/s delays 80 acks.)"""
    out = {}
    for name in SERVER_HISTOGRAMS:
        bounds = sorted(after.get(name, {}))
        counts = [after[name][b] - before.get(name, {}).get(b, 0) for b in bounds]
        total = counts[-1] if counts else 0
        if total <= 0:
            continue
        q = {}
        for label, frac in (("p50_ms", 0.5), ("p99_ms", 0.99)):
            bound = next(b for b, c in zip(bounds, counts) if c >= frac * total)
            q[label] = bound * 1000 if bound != float("inf") else None
        q["count"] = int(total)
        for ms in (10, 25):
            within = [c for b, c in zip(bounds, counts) if b <= ms / 1000 + 1e-12]
            q[f"over_{ms}_ms"] = int(total - (within[-1] if within else 0))
        out[name] = q
    return out


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


def nghttpd_run(args, work: Path, label: str) -> dict:
    """nghttpd serving a tiny static file to h2load: the HTTP/2 ceiling of this machine now."""
    docroot = work / "docroot"
    docroot.mkdir(exist_ok=True)
    (docroot / "tiny.txt").write_bytes(b"ok\n")
    port = free_port()
    nghttpd = subprocess.Popen(["nghttpd", "--no-tls", "-d", str(docroot), str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, nghttpd)
        cpu0 = cpu_seconds(nghttpd.pid)
        log(f"{label} nghttpd + h2load -n {args.h2_n} ...")
        result = h2load(f"http://127.0.0.1:{port}/tiny.txt", args.h2_n, 4, 32)
        result["server_cpu_s"] = cpu_seconds(nghttpd.pid) - cpu0
        result["server_peak_rss_mib"] = peak_rss_mib(nghttpd.pid)
    finally:
        stop(nghttpd)
    return result


def run_once(args, work: Path, bodies: tuple[Path, Path], stubs: Path, mix: Path) -> dict:
    health_body, publish_body = bodies
    r: dict = {}

    # (a) HTTP/2 ceiling: nghttpd + h2load, tiny static file.
    r["nghttpd"] = nghttpd_run(args, work, "(a)")

    # (b0) the minimum-work ceiling: event row with raw bytes and unique id + one edge + one outbox
    # row per event, nothing else (issue "Store economy" measures mesgate against it).
    db = work / "ceiling.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if args.min_ceiling:
        log(f"(b0) min_ceiling {args.sqlite_events} events ...")
        out = subprocess.run([args.min_ceiling, str(db), str(args.sqlite_events), "1000", "FULL"],
                             capture_output=True, text=True, timeout=STEP_TIMEOUT_S, check=True).stdout
        m = re.search(r"= ([\d.]+) events/s", out)
        r["sqlite_min"] = {"events_per_s": float(m.group(1)), "line": out.strip()}
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    # (b) storage ceiling.
    log(f"(b) sqlite_ceiling {args.sqlite_events} events ...")
    schema = work / "schema.sql"
    schema.write_text("\n".join(p.read_text() for p in sorted((REPO / "genealogy" / "migrations").glob("*.sql"))))
    out = subprocess.run([args.sqlite_ceiling, str(db), str(schema), str(args.sqlite_events), "1000", "FULL"],
                         capture_output=True, text=True, timeout=STEP_TIMEOUT_S, check=True).stdout
    m = re.search(r"= ([\d.]+) events/s", out)
    r["sqlite"] = {"events_per_s": float(m.group(1)), "line": out.strip()}
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    # (b2) the same statements as (g) meets them: mesgate-load's 32 streams interleaved, small
    # transactions. Each event's index entries then land on pages of their own stream's range, so
    # a transaction of 25 events dirties (and writes to the WAL) several pages per event.
    log(f"(b2) sqlite_ceiling {args.small_txn_events} events, 32 interleaved streams, 25 per transaction ...")
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([args.sqlite_ceiling, str(db), str(schema), str(args.small_txn_events), "25", "FULL", "32"],
                         capture_output=True, text=True, timeout=STEP_TIMEOUT_S, check=True).stdout
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    m = re.search(r"= ([\d.]+) events/s", out)
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    r["sqlite_small"] = {"events_per_s": float(m.group(1)), "line": out.strip(),
                         "cpu_us_per_event": cpu / args.small_txn_events * 1e6}
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    r["fsync"] = fsync_latency(work)

    # (c), (d): mesgate. nghttpd again first: Health/Check is also compared with the ceiling
    # measured just before it, as the sqlite ceilings between (a) and (c) take minutes on a shared
    # machine whose speed drifts.
    r["nghttpd_c"] = nghttpd_run(args, work, "(a') before (c):")
    data = work / f"mesgate-data-{time.time_ns()}"
    port = free_port()
    err = open(work / "mesgate.stderr", "ab")
    admin_port = free_port()
    srv = subprocess.Popen([args.mesgate, "serve", "--listen", f"127.0.0.1:{port}", "--data", str(data),
                            "--admin-listen", f"127.0.0.1:{admin_port}"],
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
        cpu3 = cpu_seconds(srv.pid)
        if args.grpcio:
            log(f"(d) grpcio PublishStream client: {args.stream_events} distinct events, {args.streams} streams ...")
            p = subprocess.run(
                [sys.executable, str(HERE / "stream_client.py"), "--stubs", str(stubs), "--target",
                 f"127.0.0.1:{port}", "--events", str(args.stream_events), "--streams", str(args.streams),
                 "--channels", str(args.channels), "--window", str(args.window), "--processes",
                 str(args.processes), "--timeout", str(args.stream_timeout)],
                capture_output=True, text=True, timeout=args.stream_timeout + 60)
            if p.returncode != 0:
                raise RuntimeError(f"stream_client failed: {p.stdout}\n{p.stderr}")
            r["stream"] = json.loads(p.stdout.strip().splitlines()[-1])
            cpu3 = cpu_seconds(srv.pid)
            r["stream"]["server_cpu_s"] = cpu3 - cpu2
        target = f"127.0.0.1:{port}"
        run_id = f"b{time.time_ns()}"
        log(f"(e) mesgate-load PublishStream, {args.load_events} events, 4 connections x 8 streams x window 256 ...")
        r["load_stream"] = load(args, target, f"{run_id}-e", args.load_events, "--connections", "4", "--streams", "8",
                                "--window", "256", writer_of=srv.pid)
        cpu4 = cpu_seconds(srv.pid)
        r["load_stream"]["server_cpu_s"] = cpu4 - cpu3
        log(f"(e2) mesgate-load PublishStream, the plant mix: {args.mix_events} plantgen events, 4 connections x 8"
            " streams x window 256 ...")
        r["load_mix"] = load(args, target, f"{run_id}-e2", args.mix_events, "--events-file", str(mix),
                             "--connections", "4", "--streams", "8", "--window", "256", writer_of=srv.pid)
        cpu5 = cpu_seconds(srv.pid)
        r["load_mix"]["server_cpu_s"] = cpu5 - cpu4
        log(f"(f) mesgate-load unary Publish, {args.unary_events} events, 4 connections x 32 calls ...")
        r["load_unary"] = load(args, target, f"{run_id}-f", args.unary_events, "--unary", "--connections", "4",
                               "--streams", "32")
        cpu6 = cpu_seconds(srv.pid)
        r["load_unary"]["server_cpu_s"] = cpu6 - cpu5
        half = max(100, int(r["load_stream"]["events_per_s"] / 2))
        log(f"(g) mesgate-load PublishStream paced at {half} events/s (half of (e)) for ~{args.paced_seconds} s ...")
        before_g = server_histograms(admin_port)
        r["load_half"] = load(args, target, f"{run_id}-g", half * args.paced_seconds, "--connections", "4",
                              "--streams", "8", "--window", "256", "--rate", str(half), writer_of=srv.pid)
        r["load_half"]["server"] = histogram_quantiles(before_g, server_histograms(admin_port))
        # (j) right after (g), on a store of the same size, before (h) adds up to 400,000 events.
        log(f"(j) mesgate-load PublishStream paced at 1000 events/s for ~{args.paced_seconds} s ...")
        before_j = server_histograms(admin_port)
        r["load_1000"] = load(args, target, f"{run_id}-j", 1000 * args.paced_seconds, "--connections", "4",
                              "--streams", "8", "--window", "256", "--rate", "1000", writer_of=srv.pid)
        r["load_1000"]["server"] = histogram_quantiles(before_j, server_histograms(admin_port))
        double = int(r["load_stream"]["events_per_s"] * 2)
        count = min(double * args.paced_seconds, 400_000)
        log(f"(h) backpressure: {count} events paced at {double} events/s (twice (e)), window 4096 per stream ...")
        before = stored_events(data)
        rss = RSSSampler(srv.pid)
        r["load_double"] = load(args, target, f"{run_id}-h", count, "--connections", "4", "--streams", "8",
                                "--window", "4096", "--rate", str(double))
        r["load_double"]["rss_mib"] = rss.stop()
        r["load_double"]["stored"] = stored_events(data) - before
        if args.soak_seconds > 0:
            log(f"(i) soak: {args.soak_seconds} s paced at {half} events/s, RSS every 5 s ...")
            rss = RSSSampler(srv.pid, interval=5, admin_port=admin_port)
            soak = load(args, target, f"{run_id}-i", half * args.soak_seconds, "--connections", "4", "--streams",
                        "8", "--window", "256", "--rate", str(half),
                        timeout=max(args.load_timeout, args.soak_seconds + 120))
            soak["rss_mib"] = rss.stop()
            soak["seconds"] = args.soak_seconds
            r["soak"] = soak
        r["mesgate_peak_rss_mib"] = peak_rss_mib(srv.pid)
    finally:
        stop(srv)
        err.close()
    return r


def load(args, target: str, run_id: str, events: int, *options: str, timeout: int | None = None,
         writer_of: int | None = None) -> dict:
    """Runs mesgate-load and returns its JSON report; every event must be acked. With `writer_of`
    (mesgate's pid), the report also says how busy mesgate's store writer thread was meanwhile:
    its CPU seconds, that per event, and that per wall-clock second (1.0: it never waited for work)."""
    timeout = timeout or args.load_timeout
    writer_before = thread_cpu_seconds(writer_of, "mesgate-writer") if writer_of else 0.0
    p = subprocess.run([args.load, "--target", target, "--events", str(events), "--run-id", run_id,
                        "--timeout", str(timeout), *options],
                       capture_output=True, text=True, timeout=timeout + 60)
    if not p.stdout.strip():
        raise RuntimeError(f"mesgate-load printed nothing: {p.stderr[-2000:]}")
    result = json.loads(p.stdout.strip().splitlines()[-1])
    shown = [Path(o).name if o.startswith("/") else o for o in options]  # not the temporary folder
    result["command"] = "mesgate-load " + " ".join(["--events", str(events), *shown])
    if writer_of:
        cpu = thread_cpu_seconds(writer_of, "mesgate-writer") - writer_before
        result["writer_cpu_s"] = cpu
        result["writer_cpu_us_per_event"] = cpu / max(1, result.get("acked", 0)) * 1e6
        result["writer_busy"] = cpu / max(1e-9, result.get("seconds", 0))
    return result


def stored_events(data: Path) -> int:
    con = sqlite3.connect(f"file:{data / 'genealogy.sqlite'}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    finally:
        con.close()


class RSSSampler:
    """Samples a process's VmRSS every `interval` seconds on a thread until stop()."""

    def __init__(self, pid: int, interval: float = 1.0, admin_port: int | None = None):
        import threading
        self.pid, self.interval, self.samples = pid, interval, []
        # With admin_port, also the writer's SQLite page cache (mesgate_store_writer_cache_bytes)
        # at each sample: the part of RSS that grows, by design, up to its cache_size.
        self.admin_port, self.cache = admin_port, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.samples.append(int(line.split()[1]) / 1024)
            if self.admin_port is not None:
                self.cache.append(writer_cache_mib(self.admin_port))
            self._stop.wait(self.interval)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        v = self.samples or [0.0]
        out = {"first": v[0], "max": max(v), "last": v[-1], "samples": len(v)}
        if self.cache and len(self.cache) == len(self.samples):
            rest = [r - c for r, c in zip(self.samples, self.cache)]
            half = rest[len(rest) // 2:]
            out["writer_cache_first"], out["writer_cache_last"] = self.cache[0], self.cache[-1]
            out["without_cache_first"], out["without_cache_last"] = rest[0], rest[-1]
            out["without_cache_second_half_range"] = max(half) - min(half)
        return out


def writer_cache_mib(admin_port: int) -> float:
    """The server's mesgate_store_writer_cache_bytes gauge, in MiB (0 before the first commit)."""
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("mesgate_store_writer_cache_bytes"):
                return float(line.split()[-1]) / (1024 * 1024)
    return 0.0


def fsync_latency(work: Path, count: int = 200) -> dict:
    """fsync latency of the disk the store lives on: the floor of a durable ack (synchronous=FULL
    syncs the WAL once per commit)."""
    path = work / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    times = []
    try:
        for _ in range(count):
            os.write(fd, b"x" * 8192)
            t = time.perf_counter()
            os.fsync(fd)
            times.append((time.perf_counter() - t) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]  # noqa: E731
    return {"p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": times[-1]}


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
    if all("nghttpd_c" in run for run in runs):
        h2("(a') the same, just before (c)", "nghttpd_c")
    lines.append(f"  nghttpd peak RSS: {last['nghttpd']['server_peak_rss_mib']:.1f} MiB")
    lines.append("")
    if "sqlite_min" in last:
        lines.append(f"(b0) minimum-work ceiling (event row + raw + unique id, one edge, one outbox row), WAL "
                     f"synchronous=FULL 1000/txn: {med('sqlite_min', 'events_per_s'):,.0f} events/s  "
                     f"[last run: {last['sqlite_min']['line']}]")
    lines.append(f"(b) storage ceiling, SQLite WAL synchronous=FULL 1000/txn: {med('sqlite', 'events_per_s'):,.0f} "
                 f"events/s  [last run: {last['sqlite']['line']}]")
    if "sqlite_small" in last:
        lines.append(f"(b2) the same, 32 interleaved streams (as mesgate-load sends them), 25/txn (batches like (g)'s):"
                     f" {med('sqlite_small', 'events_per_s'):,.0f} events/s,"
                     f" {med('sqlite_small', 'cpu_us_per_event'):.0f} µs CPU per event")
    lines.append("")
    h2("(c) mesgate grpc.health.v1.Health/Check", "health")
    lines.append("")
    h2("(c) mesgate mes.v1.EventIngest/Publish, one body repeated", "publish_dup",
       "NOTE: h2load sends the same event every time: 1 ACCEPTED, the rest DUPLICATE (dedup path);"
       " h2load counts HTTP 200, not grpc-status")
    lines.append(f"  events rows after: {last['publish_dup'].get('events_rows')} (expected 1)")
    lines.append("")
    if "stream" in last:
        s = last["stream"]
        lines.append(f"(d) mesgate PublishStream, grpcio client: {med('stream', 'events_per_s'):,.0f} events/s ACCEPTED"
                     f"  ({s['accepted']} accepted of {s['sent']} sent; {s['streams']} streams, window {s['window']})")
        lines.append("")

    def ld(name: str, key: str):
        d = last[key]
        lines.append(f"{name}: {med(key, 'events_per_s'):,.0f} events/s  ({d['accepted']} accepted, {d['duplicate']}"
                     f" duplicate, {d['rejected']} rejected, {d['failed']} failed of {d['events']})")
        lines.append(f"  command: {d['command']}")
        lines.append(f"  ack latency ms: p50 {med(key, 'p50_ms'):.2f}  p99 {med(key, 'p99_ms'):.2f}"
                     f"  p99.9 {med(key, 'p999_ms'):.2f}  max {med(key, 'max_ms'):.2f}")
        if "server_cpu_s" in d:
            per = med(key, "server_cpu_s") / max(1, d["accepted"]) * 1e6
            lines.append(f"  server CPU: {med(key, 'server_cpu_s'):.2f} s = {per:.1f} µs per event")
        if all("writer_busy" in run[key] for run in runs):
            lines.append(f"  store writer thread: {med(key, 'writer_cpu_us_per_event'):.1f} µs CPU per event, busy"
                         f" {100 * med(key, 'writer_busy'):.0f} % of the time (100 % = it never waits for work)")

    ld("(e) mesgate PublishStream, mesgate-load, distinct events, full speed", "load_stream")
    ld("(e2) mesgate PublishStream, the plant mix (bench/plantgen, seed 7), full speed", "load_mix")
    ld("(f) mesgate unary Publish, mesgate-load, distinct events", "load_unary")
    ld("(g) mesgate PublishStream paced at half of (e)", "load_half")
    ld("(j) mesgate PublishStream paced at 1,000 events/s (run right after (g))", "load_1000")
    ld("(h) backpressure: paced at twice (e), window 4096 per stream", "load_double")
    d = last["load_double"]
    lines.append(f"  stored during (h): {d['stored']} of {d['events']}; RSS MiB first {d['rss_mib']['first']:.1f}"
                 f" max {d['rss_mib']['max']:.1f} last {d['rss_mib']['last']:.1f} ({d['rss_mib']['samples']} samples)")
    lines.append(f"  offered {d['rate']} events/s, achieved {d['events_per_s']} events/s: the client was slowed, not refused")
    lines.append("")
    f = last["fsync"]
    lines.append(f"disk fsync latency (8 KiB write + fsync, 200 times): p50 {med('fsync', 'p50_ms'):.2f} ms"
                 f"  p99 {med('fsync', 'p99_ms'):.2f} ms  max {f['max_ms']:.2f} ms: the floor of a durable ack")
    lines.append(f"mesgate peak RSS (VmHWM, whole run): {med('mesgate_peak_rss_mib'):.1f} MiB (target <= 256)")
    if "soak" in last:
        k = last["soak"]
        lines.append(f"(i) soak {k['seconds']} s at {k['rate']} events/s: RSS MiB first {k['rss_mib']['first']:.1f}"
                     f" max {k['rss_mib']['max']:.1f} last {k['rss_mib']['last']:.1f}; {k['accepted']} accepted,"
                     f" {k['failed']} failed; p99 {k['p99_ms']:.2f} ms")
        m = k["rss_mib"]
        if "writer_cache_last" in m:
            lines.append(f"    of which the writer's SQLite page cache: {m['writer_cache_first']:.1f} -> "
                         f"{m['writer_cache_last']:.1f} MiB; RSS without it {m['without_cache_first']:.1f} -> "
                         f"{m['without_cache_last']:.1f} MiB (range over the second half "
                         f"{m['without_cache_second_half_range']:.1f} MiB)")
    lines.append("")
    lines.append("ratios and targets:")
    for row in summary(runs):
        unit = " ms" if row["unit"] == "ms" else ""
        target = f"  ({row['target']})" if row["target"] else ""
        lines.append(f"  {row['name']:<53} = {row['value']:.2f}{unit}{target}")
        if row["unit"] == "ms":  # a paced run: the server's own view of it too, run by run
            for i, run in enumerate(runs, 1):
                server = run[row["phase"]].get("server", {})
                if server:
                    parts = [f"{name.removeprefix('mesgate_')} p50 <= {q['p50_ms']} ms, p99 <= {q['p99_ms']} ms"
                             f" ({q['count']}, {q['over_10_ms']} over 10 ms, {q['over_25_ms']} over 25 ms)"
                             for name, q in server.items()]
                    lines.append(f"    server's histograms, run {i}: " + "; ".join(parts))
    return "\n".join(lines)


def summary(runs: list[dict]) -> list[dict]:
    """The ratios and latencies the report ends with, with their targets (what --json keeps as
    `summary`): `value` from the medians over the runs (a ratio: median ÷ median, as before), `runs`
    the same figure in each run, `phase` the key of the runs' figures it comes from."""
    rows = [
        ("Health/Check req/s ÷ nghttpd req/s", ("health", "req_per_s"), ("nghttpd", "req_per_s"), ">= 0.5, issue 3"),
        ("Health/Check req/s ÷ nghttpd req/s just before it (a')", ("health", "req_per_s"),
         ("nghttpd_c", "req_per_s"), ">= 0.5, issue 3"),
        ("unary Publish events/s ÷ nghttpd req/s", ("load_unary", "events_per_s"), ("nghttpd", "req_per_s"),
         ">= 0.3, issue 3"),
        ("PublishStream (e) ÷ SQLite ceiling (b)", ("load_stream", "events_per_s"), ("sqlite", "events_per_s"),
         ">= 0.6, issue 3"),
    ]
    if all("sqlite_min" in run for run in runs):
        rows += [
            ("PublishStream, plant mix (e2) ÷ minimum ceiling (b0)", ("load_mix", "events_per_s"),
             ("sqlite_min", "events_per_s"), '>= 0.3, issue "Store economy"'),
            ("PublishStream, synthetic (e) ÷ minimum ceiling (b0)", ("load_stream", "events_per_s"),
             ("sqlite_min", "events_per_s"), ""),
        ]
    rows += [
        ("p99 ack latency at 1,000 events/s (j)", ("load_1000", "p99_ms"), None, "<= 5 ms"),
        ("p99 ack latency at half rate (g)", ("load_half", "p99_ms"), None, '<= 25 ms, issue "Store economy"'),
        ("Publish (dup) req/s ÷ nghttpd req/s", ("publish_dup", "req_per_s"), ("nghttpd", "req_per_s"), ""),
    ]
    out = []
    for name, figure, base, target in rows:
        if base is None:
            value, per_run = median(runs, *figure), [run[figure[0]][figure[1]] for run in runs]
        else:
            value = median(runs, *figure) / median(runs, *base)
            per_run = [run[figure[0]][figure[1]] / run[base[0]][base[1]] for run in runs]
        out.append({"name": name, "value": value, "unit": "" if base else "ms", "target": target,
                    "runs": per_run, "phase": figure[0]})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mesgate", required=True)
    ap.add_argument("--sqlite-ceiling", required=True)
    ap.add_argument("--min-ceiling", help="bench/ingest/min_ceiling.c built: the (b0) minimum-work ceiling")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--h2-n", type=int, default=200_000)
    ap.add_argument("--grpc-n", type=int, default=100_000)
    ap.add_argument("--sqlite-events", type=int, default=200_000)
    ap.add_argument("--small-txn-events", type=int, default=50_000, help="(b2): events of the small-transaction run")
    ap.add_argument("--stream-events", type=int, default=100_000)
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--channels", type=int, default=4)
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--stream-timeout", type=float, default=120)
    ap.add_argument("--json", help="also write the raw figures here")
    ap.add_argument("--load", required=True, help="the mesgate-load binary")
    ap.add_argument("--load-events", type=int, default=200_000)
    ap.add_argument("--unary-events", type=int, default=50_000)
    ap.add_argument("--paced-seconds", type=int, default=15, help="(g) and (j): how long each paced run lasts")
    ap.add_argument("--mix-events", type=int, default=100_000,
                    help="(e2): plantgen events (seed 7) generated once per bench run and sent with --events-file")
    ap.add_argument("--load-timeout", type=int, default=300)
    ap.add_argument("--grpcio", action="store_true", help="also run the Python grpcio streaming client (d)")
    ap.add_argument("--soak-seconds", type=int, default=0, help="(i): a paced run this long, RSS sampled")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="mesgate-bench-") as tmp:
        work = Path(tmp)
        stubs = generate_stubs(work)
        bodies = make_bodies(stubs, work)
        log(f"plantgen: {args.mix_events} events, seed 7, for (e2) ...")
        mix = make_mix(work, args.mix_events)
        runs = []
        for i in range(args.runs):
            log(f"== run {i + 1}/{args.runs}")
            runs.append(run_once(args, work, bodies, stubs, mix))
        if args.json:
            Path(args.json).write_text(json.dumps({"runs": runs, "summary": summary(runs)}, indent=2))
        print(report(runs, args))


if __name__ == "__main__":
    main()
