#!/usr/bin/env python3
"""Many-plants benchmark driver (called by bench/multiplant/run). On loopback, with a plain
`nats-server -js` (Debian 2.9) as the JetStream every gateway talks to, it measures:
  (a) plant ingest with and without replication: mesgate-load PublishStream at full speed into a
      fresh plant gateway without --replicate, then into one with --replicate; alternated, --runs
      times each; the ratio with / without (target >= 0.90), and how long after the load the
      stream had every event (replication lag back to 0)
  (b) hub apply rate: a fresh `mesgate hub` takes the plant stream (a)'s replicated run left
      (N events), timed until hub_plants.applied reaches N; beside the store's own ingest rate
      (a, without replication)
  (c) replication lag at --lag-rate events/s per plant for 3 plants (mesgate-load --rate),
      --lag-seconds long, 3 plants + hub on one JetStream: per event, the hub's commit time minus
      the plant's (both clocks are this machine's), p50 / p99 / max over every event
  (d) catch-up after a cut: one plant paced at --lag-rate events/s and the hub; the JetStream
      server is killed (SIGKILL: the plant's replicator cannot publish, its backlog waits in the
      plant's store) for --cut-seconds and started again on its store; the time from the restart
      until the hub holds every event the plant had stored at the restart, and that backlog
Prints a table of medians; --json FILE keeps every figure. Every load has a fixed count and a
timeout; every process it starts is stopped at the end, also on failure."""

from __future__ import annotations

import argparse
import json
import os
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


def wait_for(check, timeout: float, what: str, every: float = 0.1):
    """Polls `check` until it returns a true value (returned), at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise RuntimeError(f"{what}: not within {timeout}s")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_cpu_seconds(pid: int, name: str) -> float:
    """CPU time of the process's threads called `name` (e.g. mesgate-repl)."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (task / "comm").read_text().strip() == name[:15]:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        except OSError:
            continue
    return total


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


class Processes:
    """Every process the benchmark starts, stopped at the end whatever happens."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, args: list[str], log_path: Path) -> subprocess.Popen:
        out = open(log_path, "ab")
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
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

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            self.stop(proc)


class Bench:
    def __init__(self, args, work: Path, procs: Processes) -> None:
        self.args = args
        self.work = work
        self.procs = procs
        self.counter = 0

    def folder(self, name: str) -> Path:
        self.counter += 1
        path = self.work / f"{self.counter:02d}-{name}"
        path.mkdir(parents=True)
        return path

    def nats(self, store: Path, port: int | None = None) -> tuple[subprocess.Popen, int]:
        port = port or free_port()
        proc = self.procs.start([NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
                                store.parent / "nats-server.log")
        wait_port(port, proc)
        return proc, port

    def gateway(self, data: Path, *extra: str, command: str = "serve") -> tuple[subprocess.Popen, int, int]:
        port, admin = free_port(), free_port()
        proc = self.procs.start([self.args.binary, command, "--listen", f"127.0.0.1:{port}", "--data", str(data),
                                 "--admin-listen", f"127.0.0.1:{admin}", *extra], data.parent / f"{data.name}.log")
        wait_port(port, proc, 60)
        wait_ready(admin, proc)
        return proc, port, admin

    def load(self, port: int, events: int, run_id: str, rate: int = 0) -> dict:
        options = ["--target", f"127.0.0.1:{port}", "--events", str(events), "--run-id", run_id,
                   "--timeout", str(self.args.load_timeout)]
        if rate:
            options += ["--rate", str(rate), "--connections", "1", "--streams", "4", "--window", "64"]
        p = subprocess.run([self.args.load, *options], capture_output=True, text=True,
                           timeout=self.args.load_timeout + 60)
        if not p.stdout.strip():
            raise RuntimeError(f"mesgate-load printed nothing: {p.stderr[-2000:]}")
        report = json.loads(p.stdout.strip().splitlines()[-1])
        if report["acked"] != events or report["failed"]:
            raise RuntimeError(f"mesgate-load: not every event acked: {report}")
        return report

    # ------------------------------------------------------------------------------------------ (a)

    def ingest(self, replicate: bool, run: int) -> dict:
        base = self.folder(f"ingest-{'repl' if replicate else 'plain'}-{run}")
        extra: list[str] = []
        nats = None
        if replicate:
            nats, nats_port = self.nats(base / "jetstream")
            extra = ["--replicate", f"nats://127.0.0.1:{nats_port}", "--plant", "BENCH"]
        data = base / "plant"
        proc, port, _ = self.gateway(data, *extra)
        cpu0 = cpu_seconds(proc.pid)
        report = self.load(port, self.args.events, f"a{run}{'r' if replicate else 'p'}")
        result = {"events_per_s": float(report["events_per_s"]), "p99_ms": float(report["p99_ms"]),
                  "seconds": float(report["seconds"]), "cpu_s": cpu_seconds(proc.pid) - cpu0}
        if replicate:
            db = data / "genealogy.sqlite"
            newest = scalar(db, "SELECT max(sequence) FROM events")
            ended = time.monotonic()
            wait_for(lambda: (scalar(db, "SELECT max(event_sequence) FROM replication_cursor") or 0) >= newest,
                     self.args.catchup_timeout, "the plant stream having every event")
            result["replicated_after_s"] = time.monotonic() - ended
            result["replicator_cpu_s"] = thread_cpu_seconds(proc.pid, "mesgate-repl")
            result["nats"] = nats
            result["nats_port"] = nats_port
            result["base"] = base
        Processes.stop(proc)
        return result

    # ------------------------------------------------------------------------------------------ (b)

    def hub_apply(self, nats_port: int, events: int, base: Path) -> dict:
        data = base / "hub"
        began = time.monotonic()
        proc, _, _ = self.gateway(data, "--nats", f"nats://127.0.0.1:{nats_port}", command="hub")
        db = data / "genealogy.sqlite"
        started = time.monotonic()
        wait_for(lambda: (scalar(db, "SELECT coalesce(sum(applied), 0) FROM hub_plants") or 0) >= events,
                 self.args.catchup_timeout, f"the hub applying {events} events", every=0.05)
        seconds = time.monotonic() - started
        cpu = cpu_seconds(proc.pid)
        Processes.stop(proc)
        return {"events": events, "seconds": seconds, "events_per_s": events / seconds,
                "start_s": started - began, "cpu_s": cpu}

    # ------------------------------------------------------------------------------------------ (c)

    def lag(self) -> dict:
        base = self.folder("lag")
        _, nats_port = self.nats(base / "jetstream")
        url = f"nats://127.0.0.1:{nats_port}"
        plants = []
        for name in ("A", "B", "C"):
            proc, port, _ = self.gateway(base / f"plant-{name}", "--replicate", url, "--plant", f"PLANT-{name}")
            plants.append((name, proc, port))
        hub, _, _ = self.gateway(base / "hub", "--nats", url, command="hub")
        events = self.args.lag_rate * self.args.lag_seconds
        reports: dict[str, dict] = {}
        errors: list[BaseException] = []

        def run(name: str, port: int) -> None:
            try:
                reports[name] = self.load(port, events, f"c{name}", rate=self.args.lag_rate)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=run, args=(name, port)) for name, _, port in plants]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        hub_db = base / "hub" / "genealogy.sqlite"
        total = events * 3
        wait_for(lambda: (scalar(hub_db, "SELECT count(*) FROM plant_events") or 0) >= total,
                 self.args.catchup_timeout, "the hub holding every plant's events")
        lags = sorted(r[0] for r in query(
            hub_db, "SELECT e.recorded_at_ms - p.recorded_at_ms FROM plant_events p JOIN events e ON e.sequence = p.sequence"))
        for _, proc, _ in plants:
            Processes.stop(proc)
        Processes.stop(hub)

        def pct(p: float) -> float:
            return float(lags[min(len(lags) - 1, max(0, int(round(p / 100 * len(lags))) - 1))])

        return {"events": len(lags), "rate_per_plant": self.args.lag_rate, "seconds": self.args.lag_seconds,
                "p50_ms": pct(50), "p99_ms": pct(99), "max_ms": float(lags[-1]),
                "plant_ack_p99_ms": max(float(r["p99_ms"]) for r in reports.values())}

    # ------------------------------------------------------------------------------------------ (d)

    def catch_up(self) -> dict:
        base = self.folder("cut")
        nats, nats_port = self.nats(base / "jetstream")
        url = f"nats://127.0.0.1:{nats_port}"
        plant, port, _ = self.gateway(base / "plant", "--replicate", url, "--plant", "PLANT-A")
        hub, _, _ = self.gateway(base / "hub", "--nats", url, command="hub")
        plant_db, hub_db = base / "plant" / "genealogy.sqlite", base / "hub" / "genealogy.sqlite"
        seconds = self.args.cut_seconds + 30
        events = self.args.lag_rate * seconds
        report: dict = {}
        failure: list[BaseException] = []

        def run() -> None:
            try:
                report.update(self.load(port, events, "d", rate=self.args.lag_rate))
            except BaseException as e:  # noqa: BLE001 - reported below
                failure.append(e)

        loader = threading.Thread(target=run)
        loader.start()
        time.sleep(10)
        Processes.stop(nats, signal.SIGKILL)
        cut_at = time.monotonic()
        time.sleep(self.args.cut_seconds)
        stored_at_restore = scalar(plant_db, "SELECT max(sequence) FROM events")
        at_hub_before = scalar(hub_db, "SELECT coalesce(max(last_sequence), 0) FROM hub_plants")
        self.nats(base / "jetstream", nats_port)
        restored = time.monotonic()
        wait_for(lambda: (scalar(hub_db, "SELECT coalesce(max(last_sequence), 0) FROM hub_plants") or 0)
                 >= stored_at_restore, self.args.catchup_timeout, "the hub catching up after the cut", every=0.05)
        caught_up = time.monotonic() - restored
        loader.join()
        if failure:
            raise failure[0]
        Processes.stop(plant)
        Processes.stop(hub)
        return {"cut_s": restored - cut_at, "backlog_events": stored_at_restore - at_hub_before,
                "catch_up_s": caught_up, "plant_ack_p99_ms": float(report["p99_ms"]),
                "rate": self.args.lag_rate}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--load", required=True, help="mesgate-load")
    parser.add_argument("--runs", type=int, default=3, help="(a)/(b) runs, alternated; medians reported")
    parser.add_argument("--events", type=int, default=100_000, help="events per (a) run")
    parser.add_argument("--lag-rate", type=int, default=1000, help="events/s per plant in (c) and (d)")
    parser.add_argument("--lag-seconds", type=int, default=60, help="length of (c)")
    parser.add_argument("--cut-seconds", type=int, default=60, help="length of the cut in (d)")
    parser.add_argument("--skip", default="", help="letters of the parts to leave out, e.g. cd")
    parser.add_argument("--load-timeout", type=int, default=300)
    parser.add_argument("--catchup-timeout", type=int, default=600)
    parser.add_argument("--json", help="also write every figure here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, stores)")
    args = parser.parse_args()

    # SIGTERM (a bounded run's timeout) unwinds like an exception, so every process gets stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="mesgate-multiplant-"))
    procs = Processes()
    bench = Bench(args, work, procs)
    results: dict = {"runs": args.runs, "events": args.events}
    try:
        if "a" not in args.skip:
            plain, repl, hubs = [], [], []
            for run in range(args.runs):
                log(f"(a) run {run + 1}/{args.runs}: {args.events} events without replication ...")
                plain.append(bench.ingest(False, run))
                log(f"    {plain[-1]['events_per_s']:.0f} events/s")
                log(f"(a) run {run + 1}/{args.runs}: {args.events} events with --replicate ...")
                r = bench.ingest(True, run)
                log(f"    {r['events_per_s']:.0f} events/s; stream complete {r['replicated_after_s']:.1f} s later")
                if "b" not in args.skip:
                    log(f"(b) a fresh hub applies the {args.events} events of that stream ...")
                    hubs.append(bench.hub_apply(r["nats_port"], args.events, r["base"]))
                    log(f"    {hubs[-1]['events_per_s']:.0f} events/s")
                Processes.stop(r.pop("nats"))
                r.pop("base")
                r.pop("nats_port")
                repl.append(r)
            results["a"] = {"without": plain, "with": repl}
            results["b"] = hubs
        if "c" not in args.skip:
            log(f"(c) 3 plants at {args.lag_rate} events/s each for {args.lag_seconds} s, and the hub ...")
            results["c"] = bench.lag()
        if "d" not in args.skip:
            log(f"(d) one plant at {args.lag_rate} events/s, JetStream killed for {args.cut_seconds} s ...")
            results["d"] = bench.catch_up()
    finally:
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}")

    lines = ["", "| figure | median | runs | note |", "|---|---|---|---|"]
    if "a" in results:
        without = median([r["events_per_s"] for r in results["a"]["without"]])
        with_ = median([r["events_per_s"] for r in results["a"]["with"]])
        ratios = [w["events_per_s"] / p["events_per_s"] for p, w in zip(results["a"]["without"], results["a"]["with"])]
        results["a"]["ratio_median"] = median(ratios)
        lines.append(f"| (a) plant ingest, no replication | {without:,.0f} events/s | {len(ratios)} | |")
        lines.append(f"| (a) plant ingest, --replicate | {with_:,.0f} events/s | {len(ratios)} | |")
        lines.append(f"| (a) ratio with / without (pairs) | {median(ratios):.3f} | {len(ratios)} | target >= 0.90; "
                     f"pairs {', '.join(f'{x:.3f}' for x in ratios)} |")
        lines.append(f"| (a) stream complete after the load | "
                     f"{median([r['replicated_after_s'] for r in results['a']['with']]):.1f} s | {len(ratios)} | |")
        lines.append(f"| (a) replicator thread CPU | "
                     f"{median([r['replicator_cpu_s'] for r in results['a']['with']]):.2f} s of "
                     f"{median([r['cpu_s'] for r in results['a']['with']]):.2f} s process CPU during the load | "
                     f"{len(ratios)} | |")
        if results.get("b"):
            hub = median([h["events_per_s"] for h in results["b"]])
            lines.append(f"| (b) hub applies from JetStream | {hub:,.0f} events/s | {len(results['b'])} | "
                         f"{hub / without:.2f} x the store's own ingest (a, no replication) |")
    if "c" in results:
        c = results["c"]
        lines.append(f"| (c) replication lag, 3 plants x {c['rate_per_plant']} events/s, {c['seconds']} s | "
                     f"p50 {c['p50_ms']:.0f} ms, p99 {c['p99_ms']:.0f} ms, max {c['max_ms']:.0f} ms | 1 | "
                     f"{c['events']:,} events; plants' ack p99 <= {c['plant_ack_p99_ms']:.1f} ms |")
    if "d" in results:
        d = results["d"]
        lines.append(f"| (d) catch-up after a {d['cut_s']:.0f} s cut at {d['rate']} events/s | "
                     f"{d['catch_up_s']:.1f} s for {d['backlog_events']:,} events | 1 | plant ack p99 during it "
                     f"{d['plant_ack_p99_ms']:.1f} ms |")
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
