#!/usr/bin/env python3
"""Many-plants benchmark driver (called by bench/multiplant/run). On loopback, with a plain
`nats-server -js` (Debian 2.9) as the JetStream every gateway talks to, it measures:
  (a) plant ingest with and without replication: mesgate-load PublishStream at full speed
      (--events distinct events) into a fresh plant gateway without --replicate and into a fresh
      one with --replicate; --runs pairs, the order alternated (plain/repl, repl/plain, ...); the
      ratio with / without per pair (target >= 0.90); how far replication had got when the load
      ended, how long until its lag was 0, and what the plant's replication threads and the
      nats-server spent on it (CPU from /proc)
  (b) hub apply rate: after each pair, a fresh `mesgate hub` takes the plant stream the
      replicated run left (--events events), timed until hub_plants.applied reaches it; beside
      the store's own ingest rate (a, without replication)
  (c) replication lag at --lag-rate events/s per plant for 3 plants (mesgate-load --rate),
      --lag-seconds long, 3 plants + hub on one JetStream: per event, the hub's events.recorded_at_ms
      minus the plant's (both clocks are this machine's), p50 / p99 / max over every event
  (d) catch-up after a cut: one plant paced at --lag-rate events/s and the hub; the JetStream
      server is SIGKILLed (the plant's replicator cannot publish, its backlog waits in the plant's
      store; the hub loses its server too) for --cut-seconds and started again on its store; the
      backlog, the time from the restart until the hub holds every event the plant had stored at
      the restart, and until every event's lag is under 1 s again
Prints a table of medians with every run's figure; --json FILE keeps every figure. Every load has a
fixed count and a timeout; every process it starts is stopped at the end, also on failure."""

from __future__ import annotations

import argparse
import base64
import calendar
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
# The plant gateway's replicator thread (Sources/Replication/PlantReplicator) and the store's writer,
# as /proc/PID/task/*/comm names them.
REPLICATOR, WRITER = "mesgate-repl", "mesgate-writer"
LAG_NORMAL_MS = 1000  # (d): "back to normal" = every later event's lag under this


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


def wait_ready(admin_port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mesgate exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"mesgate not ready after {timeout}s")


def wait_for(check, timeout: float, what: str, every: float = 0.1, alive: tuple = ()):
    """Polls `check` until it returns a true value (returned), at most `timeout` seconds; fails at
    once if a process of `alive` (name, Popen) has ended meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in alive:
            if proc.poll() is not None:
                raise ProcessDied(f"{name} ended ({exit_text(proc.returncode)}) while waiting for {what}")
        value = check()
        if value:
            return value
        time.sleep(every)
    raise RuntimeError(f"{what}: not within {timeout}s")


# Gateways and hubs that did not exit 0 when stopped with SIGTERM (a graceful stop): "log: exit".
UNCLEAN_STOPS: list[str] = []


class ProcessDied(RuntimeError):
    """A gateway, hub or nats-server the benchmark needs ended on its own."""


def exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit {code}"


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of the process's threads, summed by thread name."""
    totals: dict[str, float] = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return totals
    for task in tasks:
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        totals[name] = totals.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return totals


def ingest_thread(name: str) -> bool:
    """Threads a gateway has without replication: the store's writer and checkpointer, the event loops."""
    return name in (WRITER, "mesgate-ckpt") or name.startswith("NIO-ELT")


def other_threads_cpu(delta: dict[str, float]) -> float:
    """CPU of the threads that are not ingest's own: with --replicate, the replicator, the holds taker
    and the libnats threads they start (named after them when Foundation's Thread.name took; else
    after the thread that made them)."""
    return round(sum(v for k, v in delta.items() if not ingest_thread(k)), 2)


def thread_delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: round(v - before.get(k, 0.0), 2) for k, v in after.items() if v - before.get(k, 0.0) > 0.005}


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def metrics(admin_port: int) -> dict[str, float]:
    """The unlabelled samples of mesgate's /metrics."""
    values: dict[str, float] = {}
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=2) as r:
            for line in r.read().decode().splitlines():
                m = re.match(r"^([a-z_]+) ([-0-9.e+]+)$", line)
                if m:
                    values[m.group(1)] = float(m.group(2))
    except OSError:
        pass
    return values


def query(db: Path, sql: str, args: tuple = ()):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def scalar(db: Path, sql: str, args: tuple = ()):
    if not db.exists():
        return None
    try:
        return query(db, sql, args)[0][0]
    except sqlite3.OperationalError:
        return None  # not migrated yet


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil(n * p / 100)
    return float(sorted_values[int(rank) - 1])


def nats_time_ms(text: str) -> float:
    """Milliseconds since the epoch of a JetStream time (RFC 3339 with nanoseconds, UTC)."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return seconds * 1000 + float("0." + (fraction or "0")) * 1000


def stream_times(port: int, stream: str, sequences: list[int]) -> dict[int, tuple[int, float]]:
    """For the messages `sequences` of `stream`: plant sequence -> (the plant's recorded_at_ms
    header, when JetStream stored it in ms). A plain NATS protocol client ($JS.API.STREAM.MSG.GET),
    one request at a time."""
    found: dict[int, tuple[int, float]] = {}
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rb")
        f.readline()  # INFO
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"name":"bench sampler"}\r\n'
                  b"SUB _INBOX.bench 1\r\n")
        for seq in sequences:
            body = json.dumps({"seq": seq}).encode()
            s.sendall(b"PUB $JS.API.STREAM.MSG.GET.%s _INBOX.bench %d\r\n%s\r\n" % (stream.encode(), len(body), body))
            while True:
                line = f.readline()
                if not line:
                    raise RuntimeError("nats-server closed the sampler's connection")
                if line.startswith(b"PING"):
                    s.sendall(b"PONG\r\n")
                    continue
                if line.startswith(b"MSG"):
                    answer = json.loads(f.read(int(line.split()[-1]) + 2))
                    break
            message = answer.get("message")
            if not message:
                continue
            headers = dict(h.split(": ", 1) for h in base64.b64decode(message.get("hdrs", "")).decode().split("\r\n")
                           if ": " in h)
            if headers.get("Mesgate-Record") != "event":
                continue
            found[int(headers["Mesgate-Sequence"])] = (int(headers["Mesgate-Recorded-At-Ms"]),
                                                       nats_time_ms(message["time"]))
    return found


def connections(monitor_port: int) -> dict[str, float]:
    """nats-server's client connections (/connz): name -> when it connected, ms since the epoch."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{monitor_port}/connz", timeout=2) as r:
            return {c.get("name", ""): nats_time_ms(c["start"][:29].rstrip("Z") + "Z")
                    for c in json.loads(r.read()).get("connections", [])}
    except OSError:
        return {}


def split_lag(samples: dict[int, tuple[int, float]], hub_ms: dict[int, int]) -> dict:
    """Per sampled event: the plant's commit to JetStream's store, and JetStream to the hub's commit."""
    to_stream = sorted(st - pm for seq, (pm, st) in samples.items() if seq in hub_ms)
    to_hub = sorted(hub_ms[seq] - st for seq, (pm, st) in samples.items() if seq in hub_ms)
    return {"sampled": len(to_stream),
            "plant_to_stream_p50_ms": round(percentile(to_stream, 50), 1),
            "plant_to_stream_p99_ms": round(percentile(to_stream, 99), 1),
            "stream_to_hub_p50_ms": round(percentile(to_hub, 50), 1),
            "stream_to_hub_p99_ms": round(percentile(to_hub, 99), 1)}


def commit_gaps(commit_ms: list[int], at_least_ms: int = 1000) -> list[tuple[int, int]]:
    """(start ms, length ms) of every pause of at least `at_least_ms` between consecutive commits."""
    times = sorted(set(commit_ms))
    return [(a, b - a) for a, b in zip(times, times[1:]) if b - a >= at_least_ms]


def log_problems(path: Path) -> dict:
    """Lines of a process's log at warning level or above (mesgate's and nats-server's), by message."""
    counts: dict[str, int] = {}
    if not path.exists():
        return counts
    for line in path.read_text(errors="replace").splitlines():
        key = None
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except ValueError:
                entry = {}
            if str(entry.get("level", "")).lower() in ("warning", "error", "critical"):
                key = f"{entry.get('level')} {entry.get('message', entry.get('msg', ''))}"
        elif re.search(r"\[(WRN|ERR|FTL)\]|\b(warning|error|critical|crashed|corrupted|corruption|fatal)\b", line,
                       re.IGNORECASE):
            key = re.sub(r"^\S+ \S+ (\[\d+\] )?", "", line)[:120]  # drop the timestamp
            key = re.sub(r"\d+", "N", key)
        if key and "auth.disabled" not in key:  # no --tokens on loopback: expected
            counts[key] = counts.get(key, 0) + 1
    return counts


class Neighbours:
    """Samples, every few seconds, the CPU used by processes this benchmark did not start (other
    people's builds and benchmarks on a shared machine) and the load average."""

    def __init__(self, procs: "Processes", every: float = 2.0) -> None:
        self.procs, self.every = procs, every
        self.cpu_by_name: dict[str, float] = {}
        self.loads: list[float] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _snapshot() -> dict[int, tuple[str, float, int]]:
        found = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                head, tail = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            fields = tail.split()
            found[int(entry.name)] = (head.split("(", 1)[1], (int(fields[11]) + int(fields[12])) / CLK_TCK,
                                      int(fields[1]))
        return found

    def _ours(self, pid: int, snap: dict) -> bool:
        mine = {os.getpid()} | {p.pid for p in self.procs.procs}
        for _ in range(8):  # the process or one of its ancestors
            if pid in mine:
                return True
            pid = snap.get(pid, ("", 0, 0))[2]
            if pid <= 1:
                return False
        return False

    def _run(self) -> None:
        before = self._snapshot()
        while not self.stopping.wait(self.every):
            now = self._snapshot()
            self.loads.append(loadavg())
            for pid, (name, cpu, _) in now.items():
                used = cpu - before.get(pid, (name, cpu, 0))[1] if pid in before else 0.0
                if used > 0 and not self._ours(pid, now):
                    self.cpu_by_name[name] = self.cpu_by_name.get(name, 0.0) + used
            before = now

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> dict:
        self.stopping.set()
        self.thread.join(10)
        top = sorted(self.cpu_by_name.items(), key=lambda kv: -kv[1])
        return {"cpu_s_by_name": {k: round(v, 1) for k, v in top if v >= 1.0},
                "loadavg_max": max(self.loads, default=loadavg()),
                "loadavg_median": median(self.loads) if self.loads else loadavg()}


class Processes:
    """Every process the benchmark starts, stopped at the end whatever happens."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []
        self.lock = threading.Lock()

    def start(self, args: list[str], log_path: Path | None, capture: bool = False) -> subprocess.Popen:
        if capture:
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                    text=True)
        else:
            out = open(log_path, "ab")
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            out.close()
        with self.lock:
            self.procs.append(proc)
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(15)
            if sig == signal.SIGTERM and proc.returncode != 0 and proc.args[1:2] in (["serve"], ["hub"]):
                data = proc.args[proc.args.index("--data") + 1]
                UNCLEAN_STOPS.append(f"{Path(data).parent.name}/{Path(data).name}: {exit_text(proc.returncode)}")

    def stop_all(self) -> None:
        with self.lock:
            procs = list(reversed(self.procs))
        for proc in procs:
            self.stop(proc)


class Bench:
    def __init__(self, args, work: Path, procs: Processes) -> None:
        self.args = args
        self.work = work
        self.procs = procs
        self.counter = 0
        self.problems: dict[str, dict] = {}

    def folder(self, name: str) -> Path:
        self.counter += 1
        path = self.work / f"{self.counter:02d}-{name}"
        path.mkdir(parents=True)
        return path

    def note_logs(self, base: Path) -> None:
        """Keeps the warnings and errors of every log under `base` (reported at the end)."""
        for path in sorted(base.glob("*.log")):
            found = log_problems(path)
            if found:
                self.problems[f"{base.name}/{path.name}"] = found

    def nats(self, store: Path, port: int | None = None, monitor: int | None = None
             ) -> tuple[subprocess.Popen, int, int]:
        """nats-server -js on loopback (client port, monitoring port for /connz)."""
        port, monitor = port or free_port(), monitor or free_port()
        proc = self.procs.start([NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(port), "-m", str(monitor),
                                 "-sd", str(store)], store.parent / "nats-server.log")
        wait_port(port, proc)
        return proc, port, monitor

    def gateway(self, data: Path, *extra: str, command: str = "serve") -> tuple[subprocess.Popen, int, int]:
        port, admin = free_port(), free_port()
        proc = self.procs.start([self.args.binary, command, "--listen", f"127.0.0.1:{port}", "--data", str(data),
                                 "--admin-listen", f"127.0.0.1:{admin}", *extra], data.parent / f"{data.name}.log")
        wait_port(port, proc, 60)
        wait_ready(admin, proc)
        return proc, port, admin

    def load(self, port: int, events: int, run_id: str, rate: int = 0) -> dict:
        """mesgate-load to the end (it is bounded by --timeout; killed with the rest on failure)."""
        options = ["--target", f"127.0.0.1:{port}", "--events", str(events), "--run-id", run_id,
                   "--timeout", str(self.args.load_timeout)]
        if rate:
            options += ["--rate", str(rate), "--connections", "1", "--streams", "4", "--window", "64"]
        proc = self.procs.start([self.args.load, *options], None, capture=True)
        try:
            out, err = proc.communicate(timeout=self.args.load_timeout + 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise RuntimeError("mesgate-load did not end")
        if not out.strip():
            raise RuntimeError(f"mesgate-load printed nothing (exit {proc.returncode}): {err[-2000:]}")
        report = json.loads(out.strip().splitlines()[-1])
        if report["acked"] != events or report["failed"]:
            raise RuntimeError(f"mesgate-load: not every event acked: {report}")
        return report

    # ------------------------------------------------------------------------------------------ (a)

    def ingest(self, replicate: bool, run: int) -> dict:
        base = self.folder(f"ingest-{'repl' if replicate else 'plain'}-{run}")
        extra: list[str] = []
        nats = None
        if replicate:
            nats, nats_port, _ = self.nats(base / "jetstream")
            extra = ["--replicate", f"nats://127.0.0.1:{nats_port}", "--plant", "BENCH"]
        data = base / "plant"
        db = data / "genealogy.sqlite"
        proc, port, admin = self.gateway(data, *extra)
        time.sleep(1)  # the replicator has made its stream; the start's own work is over
        cpu0, threads0 = cpu_seconds(proc.pid), thread_cpu(proc.pid)
        nats_cpu0 = cpu_seconds(nats.pid) if nats else 0.0
        report = self.load(port, self.args.events, f"a{run}{'r' if replicate else 'p'}")
        ended = time.monotonic()
        threads1 = thread_cpu(proc.pid)
        result = {"events_per_s": float(report["events_per_s"]), "ack_p99_ms": float(report["p99_ms"]),
                  "seconds": float(report["seconds"]), "cpu_s": round(cpu_seconds(proc.pid) - cpu0, 2),
                  "threads_cpu_s": thread_delta(threads1, threads0), "loadavg": loadavg()}
        result["other_threads_cpu_s"] = other_threads_cpu(result["threads_cpu_s"])
        if replicate:
            result["nats_cpu_s"] = round(cpu_seconds(nats.pid) - nats_cpu0, 2)
            newest = scalar(db, "SELECT max(sequence) FROM events")
            cursor = scalar(db, "SELECT max(event_sequence) FROM replication_cursor") or 0
            gauges = metrics(admin)
            result["stored_at_end"] = newest
            result["replicated_at_end"] = cursor
            result["lag_events_metric_at_end"] = gauges.get("mesgate_replication_lag_events")
            result["lag_seconds_metric_at_end"] = gauges.get("mesgate_replication_lag_seconds")
            wait_for(lambda: (scalar(db, "SELECT max(event_sequence) FROM replication_cursor") or 0) >= newest,
                     self.args.catchup_timeout, "the plant stream having every event", every=0.05,
                     alive=(("the plant gateway", proc), ("nats-server", nats)))
            result["lag_zero_after_s"] = round(time.monotonic() - ended, 2)
            result["nats_cpu_s_until_lag_0"] = round(cpu_seconds(nats.pid) - nats_cpu0, 2)
            threads2 = thread_cpu(proc.pid)
            result["replicator_cpu_s_during_load"] = round(
                threads1.get(REPLICATOR, 0) - threads0.get(REPLICATOR, 0), 2)
            result["other_threads_cpu_s_until_lag_0"] = other_threads_cpu(thread_delta(threads2, threads0))
            result["threads_named"] = sorted({k for k in threads2 if not ingest_thread(k)})
            result["nats"] = nats
            result["nats_port"] = nats_port
            result["base"] = base
        Processes.stop(proc)
        self.note_logs(base)
        return result

    # ------------------------------------------------------------------------------------------ (b)

    def hub_apply(self, nats: subprocess.Popen, nats_port: int, events: int, base: Path) -> dict:
        data = base / "hub"
        db = data / "genealogy.sqlite"
        nats_cpu0 = cpu_seconds(nats.pid)
        began = time.monotonic()
        proc, _, admin = self.gateway(data, "--nats", f"nats://127.0.0.1:{nats_port}", command="hub")
        ready = time.monotonic()
        applied = lambda: scalar(db, "SELECT coalesce(sum(applied), 0) FROM hub_plants") or 0  # noqa: E731
        first = wait_for(applied, self.args.catchup_timeout, "the hub applying anything", every=0.02,
                         alive=(("the hub", proc),))
        first_at = time.monotonic()
        wait_for(lambda: applied() >= events, self.args.catchup_timeout, f"the hub applying {events} events",
                 every=0.05, alive=(("the hub", proc),))
        done = time.monotonic()
        stored = scalar(db, "SELECT count(*) FROM plant_events")
        threads = thread_cpu(proc.pid)
        not_store = round(sum(v for k, v in threads.items() if not ingest_thread(k)), 2)
        result = {"events": events, "stored": stored, "first_applied": first,
                  "events_per_s": (events - first) / (done - first_at),
                  "from_start_s": round(done - began, 2), "ready_s": round(ready - began, 2),
                  "first_applied_s": round(first_at - began, 2), "cpu_s": cpu_seconds(proc.pid),
                  "applier_cpu_s": not_store, "writer_cpu_s": threads.get(WRITER, 0),
                  "threads_cpu_s": {k: round(v, 2) for k, v in threads.items() if v >= 0.01},
                  "nats_cpu_s": round(cpu_seconds(nats.pid) - nats_cpu0, 2),
                  "applied_total_metric": metrics(admin).get("mesgate_hub_applied_total"),
                  "loadavg": loadavg()}
        Processes.stop(proc)
        if stored != events:
            raise RuntimeError(f"(b) the hub holds {stored} plant events, not {events}")
        self.note_logs(base)
        return result

    # ------------------------------------------------------------------------------------------ (c)

    def lag(self, run: int) -> dict:
        base = self.folder(f"lag-{run}")
        nats, nats_port, _ = self.nats(base / "jetstream")
        url = f"nats://127.0.0.1:{nats_port}"
        plants = []
        for name in ("A", "B", "C"):
            proc, port, _ = self.gateway(base / f"plant-{name}", "--replicate", url, "--plant", f"PLANT-{name}")
            plants.append((name, proc, port))
        hub, _, _ = self.gateway(base / "hub", "--nats", url, command="hub")
        hub_db = base / "hub" / "genealogy.sqlite"
        # The hub has found the three plant streams (it looks every second) before the load starts.
        hub_log = base / "hub.log"
        wait_for(lambda: hub_log.read_text(errors="replace").count("hub.plant.found") >= 3, 30,
                 "the hub finding the three plant streams", alive=(("the hub", hub),))
        events = self.args.lag_rate * self.args.lag_seconds
        reports: dict[str, dict] = {}
        errors: list[BaseException] = []
        cpu0 = {n: cpu_seconds(p.pid) for n, p, _ in plants} | {"hub": cpu_seconds(hub.pid),
                                                                "nats": cpu_seconds(nats.pid)}

        def run_load(name: str, port: int) -> None:
            try:
                reports[name] = self.load(port, events, f"c{run}{name}", rate=self.args.lag_rate)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=run_load, args=(name, port)) for name, _, port in plants]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        ended = time.monotonic()
        total = events * 3
        alive = (("the hub", hub), ("nats-server", nats), *((f"plant {n}", p) for n, p, _ in plants))
        wait_for(lambda: (scalar(hub_db, "SELECT count(*) FROM plant_events") or 0) >= total,
                 self.args.catchup_timeout, "the hub holding every plant's events", alive=alive)
        drained_s = time.monotonic() - ended
        cpu = {n: round(cpu_seconds(p.pid) - cpu0[n], 2) for n, p, _ in plants} | {
            "hub": round(cpu_seconds(hub.pid) - cpu0["hub"], 2), "nats": round(cpu_seconds(nats.pid) - cpu0["nats"], 2)}
        for _, proc, _ in plants:
            Processes.stop(proc)
        Processes.stop(hub)
        hub_rows = query(hub_db, "SELECT p.plant, p.plant_sequence, e.recorded_at_ms FROM plant_events p "
                                 "JOIN events e ON e.sequence = p.sequence")
        # Where the time goes, on a sample of each plant's events: when JetStream stored each.
        samples: dict[int, tuple[int, float]] = {}
        hub_ms: dict[int, int] = {}
        for name, _, _ in plants:
            plant = f"PLANT-{name}"
            step = max(1, events // self.args.samples_per_plant)
            times = stream_times(nats_port, f"MESGATE_PLANT_{plant}", list(range(1, events + 1, step)))
            offset = {"A": 0, "B": 1, "C": 2}[name] * 10**9  # one key space for the three plants
            samples |= {offset + k: v for k, v in times.items()}
            hub_ms |= {offset + seq: ms for p, seq, ms in hub_rows if p == plant}
        Processes.stop(nats)
        rows = query(hub_db, "SELECT p.plant, e.recorded_at_ms - p.recorded_at_ms FROM plant_events p "
                             "JOIN events e ON e.sequence = p.sequence")
        at_plants = {name: scalar(base / f"plant-{name}" / "genealogy.sqlite", "SELECT count(*) FROM events")
                     for name, _, _ in plants}
        by_plant: dict[str, list[int]] = {}
        for plant, lag in rows:
            by_plant.setdefault(plant, []).append(lag)
        lags = sorted(lag for _, lag in rows)
        self.note_logs(base)
        result = {"events": len(lags), "events_at_plants": at_plants, "rate_per_plant": self.args.lag_rate,
                  "seconds": self.args.lag_seconds, "p50_ms": percentile(lags, 50), "p99_ms": percentile(lags, 99),
                  "max_ms": float(lags[-1]), "min_ms": float(lags[0]),
                  "per_plant": {p: {"events": len(v), "p50_ms": percentile(sorted(v), 50),
                                    "p99_ms": percentile(sorted(v), 99), "max_ms": max(v)}
                                for p, v in sorted(by_plant.items())},
                  "achieved_per_plant": {n: float(r["events_per_s"]) for n, r in reports.items()},
                  "plant_ack_p99_ms": max(float(r["p99_ms"]) for r in reports.values()),
                  "hub_drained_after_load_s": round(drained_s, 2), "cpu_s": cpu, "loadavg": loadavg(),
                  "split": split_lag(samples, hub_ms)}
        # The hub commits every few ms at 3 × 1,000 events/s: a pause of a second or more is a stall.
        gaps = commit_gaps([ms for _, _, ms in hub_rows])
        first = min(ms for _, _, ms in hub_rows)
        result["hub_stalls"] = {"count": len(gaps), "total_s": round(sum(g for _, g in gaps) / 1000, 2),
                                "longest_ms": max((g for _, g in gaps), default=0),
                                "at_s_ms": [(round((a - first) / 1000, 1), g) for a, g in gaps]}
        if sum(at_plants.values()) != len(lags):
            raise RuntimeError(f"(c) plants hold {at_plants}, the hub {len(lags)} plant events")
        return result

    # ------------------------------------------------------------------------------------------ (d)

    def catch_up(self, run: int) -> dict:
        base = self.folder(f"cut-{run}")
        nats, nats_port, monitor = self.nats(base / "jetstream")
        url = f"nats://127.0.0.1:{nats_port}"
        plant, port, plant_admin = self.gateway(base / "plant", "--replicate", url, "--plant", "PLANT-A")
        hub, _, _ = self.gateway(base / "hub", "--nats", url, command="hub")
        plant_db, hub_db = base / "plant" / "genealogy.sqlite", base / "hub" / "genealogy.sqlite"
        hub_log = base / "hub.log"
        wait_for(lambda: "hub.plant.found" in hub_log.read_text(errors="replace"), 30,
                 "the hub finding the plant stream", alive=(("the hub", hub),))
        seconds = self.args.before_cut_seconds + self.args.cut_seconds + self.args.after_cut_seconds
        events = self.args.lag_rate * seconds
        report: dict = {}
        failure: list[BaseException] = []

        def run_load() -> None:
            try:
                report.update(self.load(port, events, f"d{run}", rate=self.args.lag_rate))
            except BaseException as e:  # noqa: BLE001 - reported below
                failure.append(e)

        hub_last = lambda: scalar(hub_db, "SELECT coalesce(max(last_sequence), 0) FROM hub_plants") or 0  # noqa
        loader = threading.Thread(target=run_load)
        loader.start()
        time.sleep(self.args.before_cut_seconds)
        Processes.stop(nats, signal.SIGKILL)
        cut_at = time.monotonic()
        cut_ms = int(time.time() * 1000)
        at_hub_at_cut = hub_last()
        time.sleep(self.args.cut_seconds / 2)
        gauges_mid_cut = metrics(plant_admin)
        time.sleep(self.args.cut_seconds / 2)
        stored_at_restore = scalar(plant_db, "SELECT max(sequence) FROM events")
        at_hub_before = hub_last()
        gauges_at_restore = metrics(plant_admin)
        nats, _, _ = self.nats(base / "jetstream", nats_port, monitor)
        restored = time.monotonic()
        restored_ms = int(time.time() * 1000)
        alive = (("the hub", hub), ("the plant gateway", plant), ("nats-server", nats))
        wait_for(lambda: hub_last() > at_hub_before, self.args.catchup_timeout,
                 "the hub taking anything after the restart", every=0.05, alive=alive)
        first_move_s = time.monotonic() - restored
        reconnected = connections(monitor)
        wait_for(lambda: hub_last() >= stored_at_restore, self.args.catchup_timeout,
                 "the hub catching up after the cut", every=0.05, alive=alive)
        caught_up = time.monotonic() - restored
        loader.join()
        if failure:
            raise failure[0]
        total = scalar(plant_db, "SELECT count(*) FROM events")
        wait_for(lambda: (scalar(hub_db, "SELECT count(*) FROM plant_events") or 0) >= total,
                 self.args.catchup_timeout, "the hub holding every event after the load", alive=alive)
        Processes.stop(plant)
        Processes.stop(hub)
        # When JetStream stored the backlog's last event (the plant's side of the catch-up), and a sample.
        step = max(1, total // self.args.samples_per_plant)
        sampled = stream_times(nats_port, "MESGATE_PLANT_PLANT-A",
                               sorted(set(range(1, total + 1, step)) | {stored_at_restore}))
        Processes.stop(nats)
        hub_ms = dict(query(hub_db, "SELECT p.plant_sequence, e.recorded_at_ms FROM plant_events p "
                                    "JOIN events e ON e.sequence = p.sequence"))
        # Per event, in the plant's order: the last one whose lag was over LAG_NORMAL_MS, when the hub stored it.
        rows = query(hub_db, "SELECT p.plant_sequence, p.recorded_at_ms, e.recorded_at_ms FROM plant_events p "
                             "JOIN events e ON e.sequence = p.sequence ORDER BY p.plant_sequence")
        late = [r for r in rows if r[2] - r[1] > LAG_NORMAL_MS]
        # Pauses of the hub's commits of a second or more besides the cut itself.
        stalls = [(round((a - restored_ms) / 1000, 1), g) for a, g in commit_gaps([r[2] for r in rows])
                  if a + g < cut_ms or a > restored_ms]
        self.note_logs(base)
        return {"rate": self.args.lag_rate, "cut_s": round(restored - cut_at, 2),
                "hub_at_cut": at_hub_at_cut, "hub_at_restore": at_hub_before,
                "stored_at_restore": stored_at_restore, "backlog_events": stored_at_restore - at_hub_before,
                "plant_lag_events_metric_mid_cut": gauges_mid_cut.get("mesgate_replication_lag_events"),
                "plant_lag_events_metric_at_restore": gauges_at_restore.get("mesgate_replication_lag_events"),
                "plant_lag_seconds_metric_at_restore": gauges_at_restore.get("mesgate_replication_lag_seconds"),
                "first_applied_after_restore_s": round(first_move_s, 2),
                "plant_reconnected_after_restore_s": round(
                    (reconnected.get("mesgate plant PLANT-A", float("nan")) - restored_ms) / 1000, 2),
                "hub_reconnected_after_restore_s": round(
                    (reconnected.get("mesgate hub", float("nan")) - restored_ms) / 1000, 2),
                "backlog_in_stream_after_restore_s": round(
                    (sampled[stored_at_restore][1] - restored_ms) / 1000, 2) if stored_at_restore in sampled else None,
                "catch_up_s": round(caught_up, 2),
                "backlog_events_per_s": round((stored_at_restore - at_hub_before) / caught_up),
                "backlog_events_per_s_once_moving": round(
                    (stored_at_restore - at_hub_before) / max(0.001, caught_up - first_move_s)),
                "split": split_lag(sampled, hub_ms),
                "lag_back_under_1s_after_restore_s":
                    round((late[-1][2] - restored_ms) / 1000, 2) if late else 0.0,
                "events_late": len(late),
                "hub_stalls_outside_cut": stalls, "max_lag_ms": max(r[2] - r[1] for r in rows),
                "events": total, "at_hub": len(rows),
                "plant_ack_p99_ms": float(report["p99_ms"]), "plant_achieved_per_s": float(report["events_per_s"]),
                "loadavg": loadavg()}


def median(values: list[float]) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def runs_text(values: list[float], fmt: str) -> str:
    return ", ".join(format(v, fmt) for v in values)


def table(results: dict) -> str:
    lines = ["", "| figure | median | runs | note |", "|---|---|---|---|"]

    def row(figure: str, values: list[float], fmt: str, unit: str = "", note: str = "") -> float:
        m = median(values)
        if fmt == "d":
            values, fmt = [float(v) for v in values], ".0f" if float(m).is_integer() else ".1f"
        lines.append(f"| {figure} | {format(m, fmt)}{unit} | {runs_text(values, fmt)} | {note} |")
        return m

    if results.get("a", {}).get("with"):
        plain, repl = results["a"]["without"], results["a"]["with"]
        row("(a) plant ingest, no replication, events/s", [r["events_per_s"] for r in plain], ",.0f",
                      note=f"{results['events']:,} events per run; CPU/event "
                           f"{median([r['cpu_s'] / results['events'] * 1e6 for r in plain]):.0f} µs")
        row("(a) plant ingest, --replicate, events/s", [r["events_per_s"] for r in repl], ",.0f",
            note=f"CPU/event {median([r['cpu_s'] / results['events'] * 1e6 for r in repl]):.0f} µs (gateway), "
                 f"nats-server {median([r['nats_cpu_s'] / results['events'] * 1e6 for r in repl]):.0f} µs")
        row("(a) ratio with / without (per pair)", results["a"]["ratios"], ".3f", note="target ≥ 0.90")
        row("(a) replicated when the load ended, % of stored",
            [100 * r["replicated_at_end"] / r["stored_at_end"] for r in repl], ".1f", " %")
        row("(a) replication lag 0 after the load end, s", [r["lag_zero_after_s"] for r in repl], ".2f")
        row("(a) replication threads' CPU during the load, s", [r["other_threads_cpu_s"] for r in repl], ".2f",
            note=f"of the gateway's {median([r['cpu_s'] for r in repl]):.1f} s (without: other threads "
                 f"{median([r['other_threads_cpu_s'] for r in plain]):.2f} s); nats-server "
                 f"{median([r['nats_cpu_s'] for r in repl]):.1f} s; load ran "
                 f"{median([r['seconds'] for r in repl]):.1f} s")
        row("(a) replication threads' CPU until lag 0, s", [r["other_threads_cpu_s_until_lag_0"] for r in repl],
            ".2f", note=f"{median([r['other_threads_cpu_s_until_lag_0'] / results['events'] * 1e6 for r in repl]):.1f}"
                        " µs per event; nats-server "
                        f"{median([r['nats_cpu_s_until_lag_0'] / results['events'] * 1e6 for r in repl]):.1f} µs per event")
    if results.get("b"):
        hubs = results["b"]
        row("(b) hub applies from JetStream, events/s", [h["events_per_s"] for h in hubs], ",.0f",
                  note=f"{median([h['from_start_s'] for h in hubs]):.1f} s from the hub's start to the last; "
                       f"hub CPU {median([h['cpu_s'] / h['events'] * 1e6 for h in hubs]):.0f} µs/event (writer "
                       f"{median([h['writer_cpu_s'] / h['events'] * 1e6 for h in hubs]):.0f}), nats-server "
                       f"{median([h['nats_cpu_s'] / h['events'] * 1e6 for h in hubs]):.0f}")
        if "a" in results:
            row("(b) hub ÷ store's own ingest (a, no replication)", results["b_ratios"], ".2f")
    if results.get("c"):
        cs = results["c"]
        c0 = cs[0]
        note = (f"3 plants × {c0['rate_per_plant']:,}/s × {c0['seconds']} s; {c0['events']:,} events each run, every "
                f"event of the hub; plants' ack p99 ≤ {max(c['plant_ack_p99_ms'] for c in cs):.1f} ms")
        row("(c) replication lag p50, ms", [c["p50_ms"] for c in cs], ".0f", note=note)
        row("(c) replication lag p99, ms", [c["p99_ms"] for c in cs], ".0f")
        row("(c) replication lag max, ms", [c["max_ms"] for c in cs], ".0f")
        row("(c) hub stalls (≥ 1 s without a commit), s in all", [c["hub_stalls"]["total_s"] for c in cs], ".1f",
            note=f"count {runs_text([c['hub_stalls']['count'] for c in cs], 'd')}; longest "
                 f"{runs_text([c['hub_stalls']['longest_ms'] for c in cs], 'd')} ms")
        row("(c) of which plant commit → JetStream stored, p50 ms", [c["split"]["plant_to_stream_p50_ms"] for c in cs],
            ".0f", note=f"p99 {runs_text([c['split']['plant_to_stream_p99_ms'] for c in cs], '.0f')} ms; "
                        f"{c0['split']['sampled']:,} events sampled per run")
        row("(c) of which JetStream stored → hub commit, p50 ms", [c["split"]["stream_to_hub_p50_ms"] for c in cs],
            ".0f", note=f"p99 {runs_text([c['split']['stream_to_hub_p99_ms'] for c in cs], '.0f')} ms")
    if results.get("d"):
        ds = results["d"]
        d0 = ds[0]
        row(f"(d) backlog after a {d0['cut_s']:.0f} s cut at {d0['rate']:,}/s, events",
            [d["backlog_events"] for d in ds], ",.0f")
        row("(d) restart → hub holds every event stored at the restart, s", [d["catch_up_s"] for d in ds], ".1f",
            note=f"first event applied {median([d['first_applied_after_restore_s'] for d in ds]):.1f} s after it")
        row("(d) restart → plant / hub reconnected (nats /connz), s", [d["plant_reconnected_after_restore_s"]
                                                                      for d in ds], ".1f",
            note=f"hub {runs_text([d['hub_reconnected_after_restore_s'] for d in ds], '.1f')} s")
        row("(d) restart → the backlog's last event in JetStream, s",
            [d["backlog_in_stream_after_restore_s"] for d in ds], ".1f")
        row("(d) backlog applied, events/s from the restart", [d["backlog_events_per_s"] for d in ds], ",.0f",
            note=f"from the hub's first apply: {runs_text([d['backlog_events_per_s_once_moving'] for d in ds], ',.0f')}")
        row("(d) restart → every later event's lag < 1 s, s", [d["lag_back_under_1s_after_restore_s"] for d in ds],
            ".1f", note=f"plant ack p99 during the run ≤ {max(d['plant_ack_p99_ms'] for d in ds):.1f} ms")
        row("(d) hub stalls (≥ 1 s) besides the cut", [len(d["hub_stalls_outside_cut"]) for d in ds], "d",
            note="; ".join(f"{g} ms at {a:+.1f} s" for d in ds for a, g in d["hub_stalls_outside_cut"]))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--load", required=True, help="mesgate-load")
    parser.add_argument("--quick", action="store_true",
                        help="--runs 1 --events 30000 --lag-seconds 15 --cut-seconds 15 --before-cut-seconds 5 "
                             "--after-cut-seconds 10 (about 3 minutes)")
    parser.add_argument("--runs", type=int, default=3, help="(a)/(b) pairs, and (c), (d) runs; medians reported")
    parser.add_argument("--lag-runs", type=int, help="(c) runs (default --runs)")
    parser.add_argument("--cut-runs", type=int, help="(d) runs (default --runs)")
    parser.add_argument("--events", type=int, default=200_000, help="events per (a) run")
    parser.add_argument("--lag-rate", type=int, default=1000, help="events/s per plant in (c) and (d)")
    parser.add_argument("--lag-seconds", type=int, default=60, help="length of (c)")
    parser.add_argument("--cut-seconds", type=int, default=60, help="length of the cut in (d)")
    parser.add_argument("--before-cut-seconds", type=int, default=10, help="(d) load before the cut")
    parser.add_argument("--after-cut-seconds", type=int, default=30, help="(d) load after the restart")
    parser.add_argument("--samples-per-plant", type=int, default=2000,
                        help="(c), (d): events per plant whose JetStream time is read (where the lag goes)")
    parser.add_argument("--skip", default="", help="letters of the parts to leave out, e.g. cd")
    parser.add_argument("--load-timeout", type=int, default=300)
    parser.add_argument("--catchup-timeout", type=int, default=600)
    parser.add_argument("--json", help="also write every figure here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, stores)")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.events, args.lag_seconds, args.cut_seconds = 1, 30_000, 15, 15
        args.before_cut_seconds, args.after_cut_seconds = 5, 10
    args.lag_runs = args.lag_runs or args.runs
    args.cut_runs = args.cut_runs or args.runs

    # SIGTERM (a bounded run's timeout) unwinds like an exception, so every process gets stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="mesgate-multiplant-", dir=os.environ.get("MULTIPLANT_TMP")))
    procs = Processes()
    bench = Bench(args, work, procs)
    results: dict = {"runs": args.runs, "events": args.events, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                        time.gmtime()),
                     "nproc": os.cpu_count(), "loadavg_start": loadavg(), "options": vars(args)}
    failed = None
    neighbours = Neighbours(procs)
    neighbours.start()
    failures: list[dict] = results.setdefault("failures", [])

    def failure(part: str, run: int, error: Exception) -> None:
        """A run that could not finish (a process died, a wait timed out): kept with its reason and
        the logs' problems; its processes are stopped and the next run goes on."""
        procs.stop_all()
        folder = sorted(work.iterdir())[-1]
        bench.note_logs(folder)
        # What the C library said before the abort (e.g. "double free or corruption"), if anything.
        said = [line for path in folder.glob("*.log") for line in path.read_text(errors="replace").splitlines()
                if re.search(r"corrupt|double free|free\(\)|malloc|Fatal error", line)]
        text = f"{error}" + (f"; the log: {said[0]}" if said else "")
        log(f"    FAILED: {text}")
        failures.append({"part": part, "run": run + 1, "error": text, "folder": folder.name})

    try:
        if "a" not in args.skip:
            plain, repl, hubs, b_ratios = [], [], [], []
            for run in range(args.runs):
                order = (False, True) if run % 2 == 0 else (True, False)
                pair: dict[bool, dict] = {}
                try:
                    for replicate in order:
                        log(f"(a) run {run + 1}/{args.runs}: {args.events} events "
                            f"{'with --replicate' if replicate else 'without replication'} ...")
                        pair[replicate] = r = bench.ingest(replicate, run)
                        note = (f"; {100 * r['replicated_at_end'] / r['stored_at_end']:.1f} % replicated at the end, "
                                f"lag 0 {r['lag_zero_after_s']:.2f} s later" if replicate else "")
                        log(f"    {r['events_per_s']:,.0f} events/s{note}")
                except Exception as e:  # noqa: BLE001 - the pair is left out, with its reason
                    failure("a", run, e)
                    continue
                r = pair[True]
                if "b" not in args.skip:
                    log(f"(b) a fresh hub applies the {args.events} events of that stream ...")
                    try:
                        hubs.append(bench.hub_apply(r["nats"], r["nats_port"], args.events, r["base"]))
                        b_ratios.append(hubs[-1]["events_per_s"] / pair[False]["events_per_s"])
                        log(f"    {hubs[-1]['events_per_s']:,.0f} events/s")
                    except Exception as e:  # noqa: BLE001
                        failure("b", run, e)
                Processes.stop(r.pop("nats"))
                r.pop("base")
                r.pop("nats_port")
                plain.append(pair[False])
                repl.append(r)
            results["a"] = {"without": plain, "with": repl,
                            "ratios": [w["events_per_s"] / p["events_per_s"] for p, w in zip(plain, repl)]}
            results["b"] = hubs
            results["b_ratios"] = b_ratios
        if "c" not in args.skip:
            results["c"] = []
            for run in range(args.lag_runs):
                log(f"(c) run {run + 1}/{args.lag_runs}: 3 plants at {args.lag_rate} events/s each for "
                    f"{args.lag_seconds} s, and the hub ...")
                try:
                    c = bench.lag(run)
                except Exception as e:  # noqa: BLE001
                    failure("c", run, e)
                    continue
                log(f"    lag p50 {c['p50_ms']:.0f} ms, p99 {c['p99_ms']:.0f} ms, max {c['max_ms']:.0f} ms")
                results["c"].append(c)
        if "d" not in args.skip:
            results["d"] = []
            for run in range(args.cut_runs):
                log(f"(d) run {run + 1}/{args.cut_runs}: one plant at {args.lag_rate} events/s, JetStream killed "
                    f"for {args.cut_seconds} s ...")
                try:
                    d = bench.catch_up(run)
                except Exception as e:  # noqa: BLE001
                    failure("d", run, e)
                    continue
                log(f"    backlog {d['backlog_events']:,}, caught up {d['catch_up_s']:.1f} s after the restart")
                results["d"].append(d)
    except BaseException as e:  # noqa: BLE001 - reported, then the figures so far are printed
        failed = e
        log(f"FAILED: {e!r}")
    finally:
        procs.stop_all()
        results["neighbours"] = neighbours.stop()
        results["loadavg_end"] = loadavg()
        results["log_problems"] = bench.problems
        if args.keep or failed or failures:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    results["unclean_stops"] = UNCLEAN_STOPS
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    try:
        print(table(results))
    except Exception as e:  # noqa: BLE001 - the figures are in --json
        print(f"(the table could not be printed: {e!r})")
    n = results["neighbours"]
    others = ", ".join(f"{k} {v:.0f} s" for k, v in list(n["cpu_s_by_name"].items())[:6]) or "none"
    print(f"\nLoad average during the run: median {n['loadavg_median']:.1f}, max {n['loadavg_max']:.1f}; "
          f"CPU used meanwhile by processes this run did not start: {others}")
    if bench.problems:
        print("\nWarnings and errors in the logs (count, message):")
        for name, found in bench.problems.items():
            for message, count in sorted(found.items(), key=lambda kv: -kv[1])[:8]:
                print(f"  {name}: {count} × {message}")
    if failures:
        print("\nRuns that could not finish (left out of the medians above):")
        for f in failures:
            print(f"  ({f['part']}) run {f['run']}: {f['error']} [{f['folder']}]")
    if UNCLEAN_STOPS:
        print(f"\nGateways that did not exit 0 on SIGTERM ({len(UNCLEAN_STOPS)}): " + "; ".join(UNCLEAN_STOPS))
    return 1 if failed or failures else 0


if __name__ == "__main__":
    sys.exit(main())
