"""Abuse at the door: a normal MES client's Publish latency while an attacker works on the same
server from the same address (a plant's NAT), one attack at a time, against a quiet baseline.

Attacks (each bounded in time; all on loopback):
  connection-flood  opens connections as fast as it can (far past --max-connections-per-address)
  slowloris         keeps 90 connections that send the HTTP/2 preface one byte a second
  big-headers       requests whose header list is 64 KiB (HEADERS + CONTINUATION), over the limit
  continuation      HEADERS followed by 10,000 one-byte CONTINUATION frames, connection after connection
  rapid-reset       HEADERS + RST_STREAM pairs, 20,000 per connection, connection after connection
  bad-tokens        Publish with wrong tokens from 8 threads (the address gets throttled)

The normal client opened its channel before the attack (MES lines keep their connections) and
publishes distinct events one after another with its valid token. Printed per phase: calls,
errors, p50 / p99 latency and the p50/p99 ratio to the baseline.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Tests" / "e2e"))

import grpc  # noqa: E402

from conftest import free_ports, stubs  # noqa: E402
from mesevents import event  # noqa: E402
from rawh2 import PREFACE, connect, frame, literal, request_block  # noqa: E402


def drain(s: socket.socket) -> None:
    s.setblocking(False)
    try:
        while s.recv(65536):
            pass
    except (BlockingIOError, OSError):
        pass
    s.setblocking(True)


# ------------------------------------------------------------------------------------------ attacks

def connection_flood(port: int, stop: threading.Event, counts: dict) -> None:
    held = []
    while not stop.is_set():
        try:
            held.append(connect(port))
            counts["opened"] = counts.get("opened", 0) + 1
        except OSError:
            counts["failed"] = counts.get("failed", 0) + 1
            time.sleep(0.01)
        if len(held) >= 2000:
            for s in held[:1000]:
                s.close()
            del held[:1000]
    for s in held:
        s.close()


def slowloris(port: int, stop: threading.Event, counts: dict) -> None:
    conns: list[tuple[socket.socket, int]] = []
    while not stop.is_set():
        while len(conns) < 90:
            try:
                conns.append((connect(port), 0))
            except OSError:
                break
        alive = []
        for s, sent in conns:
            try:
                s.send(PREFACE[sent % len(PREFACE):sent % len(PREFACE) + 1])
                alive.append((s, sent + 1))
            except OSError:
                counts["closed_by_server"] = counts.get("closed_by_server", 0) + 1
                s.close()
        conns = alive
        stop.wait(1.0)
    for s, _ in conns:
        s.close()


def big_headers(port: int, stop: threading.Event, counts: dict) -> None:
    while not stop.is_set():
        try:
            s = connect(port)
            s.sendall(PREFACE + frame(4, 0, 0, b""))
            stream = 1
            for _ in range(50):
                block = request_block("/mes.v1.EventIngest/Publish", [("x-big", "b" * 65536)])
                first, rest = block[:16384], block[16384:]
                out = frame(1, 0x1 if not rest else 0x0, stream, first)  # END_STREAM, END_HEADERS later
                while rest:
                    chunk, rest = rest[:16384], rest[16384:]
                    out += frame(9, 0x4 if not rest else 0x0, stream, chunk)
                s.sendall(out)
                stream += 2
                counts["requests"] = counts.get("requests", 0) + 1
                drain(s)
            s.close()
        except OSError:
            counts["closed_by_server"] = counts.get("closed_by_server", 0) + 1


def continuation_flood(port: int, stop: threading.Event, counts: dict) -> None:
    one = frame(9, 0, 1, b"a")
    while not stop.is_set():
        try:
            s = connect(port)
            head = literal("x", "")[:-1] + b"\x7f\xff\xff\x03"  # a value of 65,662 bytes that never ends
            s.sendall(PREFACE + frame(4, 0, 0, b"") + frame(1, 0, 1, b"\x83" + head) + one * 10_000)
            counts["connections"] = counts.get("connections", 0) + 1
            drain(s)
            s.close()
        except OSError:
            counts["closed_by_server"] = counts.get("closed_by_server", 0) + 1


def rapid_reset(port: int, stop: threading.Event, counts: dict) -> None:
    block = request_block("/mes.v1.EventIngest/PublishStream")
    while not stop.is_set():
        try:
            s = connect(port)
            s.sendall(PREFACE + frame(4, 0, 0, b""))
            batch = b""
            for i in range(20_000):
                stream = 1 + 2 * i
                batch += frame(1, 0x4, stream, block) + frame(3, 0, stream, struct.pack(">I", 8))
                if len(batch) > 65536:
                    s.sendall(batch)
                    batch = b""
                    counts["resets"] = counts.get("resets", 0) + 1
                if stop.is_set():
                    break
            s.sendall(batch)
            drain(s)
            s.close()
        except OSError:
            counts["closed_by_server"] = counts.get("closed_by_server", 0) + 1


def bad_tokens(port: int, stop: threading.Event, counts: dict) -> None:
    pb = stubs().events_pb2_grpc

    def guess() -> None:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            stub = pb.EventIngestStub(ch)
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    stub.Publish(event("received"), metadata=[("authorization", f"Bearer guess-{n}")], timeout=2)
                except grpc.RpcError as e:
                    key = e.code().name
                    counts[key] = counts.get(key, 0) + 1

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


ATTACKS = {
    "connection-flood": connection_flood,
    "slowloris": slowloris,
    "big-headers": big_headers,
    "continuation": continuation_flood,
    "rapid-reset": rapid_reset,
    "bad-tokens": bad_tokens,
}


# ------------------------------------------------------------------------------------------ the normal client

def normal_client(stub, token: str, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            stub.Publish(event("received"), metadata=[("authorization", f"Bearer {token}")], timeout=5)
            latencies.append((time.monotonic() - started) * 1000)
        except grpc.RpcError:
            errors += 1
    return latencies, errors


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mesgate", required=True)
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase (default 10)")
    parser.add_argument("--attacks", default=",".join(ATTACKS), help="comma-separated, default all")
    parser.add_argument("--json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mesgate-abuse-"))
    token = "normal-line-token"
    (work / "tokens").write_text(f"line-1 mes sha256:{hashlib.sha256(token.encode()).hexdigest()}\n")
    port, admin = free_ports(2)
    server = subprocess.Popen(
        [args.mesgate, "serve", "--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin}",
         "--data", str(work / "data"), "--tokens", str(work / "tokens"), "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=open(work / "stderr", "w"))
    results = []
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=60)
        stub = stubs().events_pb2_grpc.EventIngestStub(channel)
        normal_client(stub, token, 1.0)  # warm up
        base, base_errors = normal_client(stub, token, args.seconds)
        results.append({"phase": "baseline", "calls": len(base), "errors": base_errors,
                        "p50_ms": pct(base, 0.5), "p99_ms": pct(base, 0.99), "attacker": {}})
        for name in args.attacks.split(","):
            stop = threading.Event()
            counts: dict = {}
            attacker = threading.Thread(target=ATTACKS[name], args=(port, stop, counts), daemon=True)
            attacker.start()
            time.sleep(0.5)  # the attack is under way
            lat, errors = normal_client(stub, token, args.seconds)
            stop.set()
            attacker.join(timeout=30)
            alive = server.poll() is None
            results.append({"phase": name, "calls": len(lat), "errors": errors, "p50_ms": pct(lat, 0.5),
                            "p99_ms": pct(lat, 0.99), "attacker": counts, "server_alive": alive})
            if not alive:
                break
            time.sleep(11)  # refused guesses leave the throttle window; slow openers time out
        channel.close()
    finally:
        rss_kib = 0
        try:
            for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    rss_kib = int(line.split()[1])
        except OSError:
            pass
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    base = results[0]
    print(f"{'phase':<18} {'calls':>7} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8} {'p50 ×':>6} {'p99 ×':>6}  attacker")
    for r in results:
        r50 = r["p50_ms"] / base["p50_ms"] if base["p50_ms"] else float("nan")
        r99 = r["p99_ms"] / base["p99_ms"] if base["p99_ms"] else float("nan")
        r["p50_ratio"], r["p99_ratio"] = r50, r99
        print(f"{r['phase']:<18} {r['calls']:>7} {r['errors']:>6} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
              f"{r50:>6.2f} {r99:>6.2f}  {json.dumps(r['attacker'])}")
    print(f"server peak RSS {rss_kib / 1024:.1f} MiB; server alive through every attack: "
          f"{all(r.get('server_alive', True) for r in results)}")
    if args.json:
        Path(args.json).write_text(json.dumps({"phases": results, "peak_rss_kib": rss_kib}, indent=2))
    failed = [r["phase"] for r in results if r["errors"] or not r.get("server_alive", True)]
    if failed:
        print("normal client failed or server died during: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
