"""Many plants over a real WAN topology (issue "Many plants", done when): three plants, each in a
network namespace of its own with its leaf node (JetStream domain plantA/B/C) and its gateway
(`serve --replicate --plant --hub-domain hub`), joined to the hub's namespace by a veth pair (the
WAN link); in the hub's namespace a 3-node JetStream cluster (domain hub) and `mesgate hub
--plant-domain ... --replicas 3`, reachable from the test through one more veth pair.

Under steady load from every plant (a load generator inside each plant's namespace, lots shipped
at one plant and received at the next under the same LotRef: wanplant.py), the scenario cuts plant
B's link for 60 s (`ip link set ... down`), SIGKILLs the hub node that plant A's leaf is connected
to (and starts it again) and SIGKILLs the hub gateway (and starts it again). After the load stops
and the hub has caught up, the tests check that the hub store holds exactly the union of the plant
stores, that plant B kept acking through the cut, that cross-plant traces at the hub equal a walk
computed here from every plant's raw events, and that a hold placed at the hub stops a shipment at
the plant that received the lot.

Needs root and `ip netns` (skipped otherwise, saying why), nats-server (Debian's 2.9). The
scenario runs once per module (about 2 minutes); its timings are printed at the end.
MESGATE_WAN_RATE sets the load: events per second per plant at most (default 100). Everything is
torn down in the fixture's finalizer: processes killed, namespaces deleted. (Only a test process
that is itself killed leaves them behind: namespaces mgw<4 hex digits>h, a, b and c; `ip netns del`
removes them with their links.)"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import deque
from pathlib import Path

import pytest

from conftest import RPC_TIMEOUT_S, Server, ServerStartError

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
HERE = Path(__file__).resolve().parent
PLANTS = ["A", "B", "C"]
CUT_PLANT = "B"
RATE = float(os.environ.get("MESGATE_WAN_RATE", "100"))  # events/s per plant at most
CUT_S = 60.0
HUB_GRPC, HUB_ADMIN = 50051, 9464
CATCH_UP_S = 120.0
# Where each product of wanplant.py's flows is made (containers: pallets at C).
PLANT_OF_PRODUCT = {"STEEL": "A", "BRACKET": "A", "MOTOR": "B", "ASSY": "B", "PUMP": "C"}


def run(*args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=True)


def why_not_runnable() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth pairs)"
    if not shutil.which("ip"):
        return "no `ip` (iproute2)"
    try:
        subprocess.run(["ip", "netns", "list"], capture_output=True, timeout=10, check=True)
    except (subprocess.SubprocessError, OSError) as e:
        return f"`ip netns` does not work here: {e}"
    if not Path(NATS_SERVER).exists():
        return "nats-server is not installed (apt-get install nats-server; scripts/test installs it)"
    return None


def wait_for(check, timeout: float, what: str, interval: float = 0.25):
    """Polls check() until it returns True; fails with its last answer after `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last is True:
            return
        time.sleep(interval)
    pytest.fail(f"{what}: not within {timeout} s (last: {last})", pytrace=False)


def http_json(url: str, timeout: float = 2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def pick_root_subnet() -> ipaddress.IPv4Network:
    """A /30 for the test ↔ hub link that no address or route of the root namespace uses."""
    used = run("ip", "-4", "route", "show", "table", "all").stdout + run("ip", "-4", "addr").stdout
    nets = []
    for word in used.split():
        try:
            nets.append(ipaddress.ip_network(word, strict=False))
        except ValueError:
            continue
    for _ in range(200):
        second, third, fourth = secrets.randbelow(50) + 200, secrets.randbelow(256), secrets.randbelow(64) * 4
        net = ipaddress.ip_network(f"10.{second}.{third}.{fourth}/30")
        if not any(net.overlaps(n) for n in nets if n.prefixlen > 0):
            return net
    pytest.fail("no free /30 in 10.200.0.0/14 for the hub link")


# --------------------------------------------------------------------------- processes


class Proc:
    """One process started in a network namespace (`ip netns exec` execs it: its pid is the process's)."""

    def __init__(self, ns: str, name: str, cmd: list[str], log: Path):
        self.ns, self.name, self.cmd, self.log = ns, name, cmd, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Proc":
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, *self.cmd], stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send(self, sig) -> None:
        if self.alive():
            self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout: float = 20) -> None:
        if not self.alive():
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def tail(self, limit: int = 3000) -> str:
        return self.log.read_bytes()[-limit:].decode("utf-8", "replace") if self.log.exists() else "(no log)"


class NSGateway(Server):
    """A mesgate process in a namespace: `serve` at a plant (loopback of its namespace, reached by
    wanplant.py there) or `hub` (on the hub end of the test's veth, reached from here)."""

    def __init__(self, binary: Path, data: Path, logs: Path, ns: str, host: str, args: list[str],
                 stubs: Path, port: int, admin_port: int):
        super().__init__(binary, data, logs, extra_args=args, port=port)
        self.ns, self.host, self.admin_port, self.stubs = ns, host, admin_port, stubs

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def command(self) -> list[str]:
        return ["ip", "netns", "exec", self.ns, str(self.binary), *self.extra_args, "--data", str(self.data),
                "--listen", self.address, "--admin-listen", f"{self.host}:{self.admin_port}"]

    def wait_serving(self, timeout: float = 30.0) -> None:
        if self.host != "127.0.0.1":
            return super().wait_serving(timeout)
        # The plant's loopback is its namespace's: ask from there.
        waiter = subprocess.run(
            ["ip", "netns", "exec", self.ns, sys.executable, str(HERE / "wanplant.py"), "wait", self.address,
             "--stubs", str(self.stubs), "--timeout", str(timeout)],
            capture_output=True, text=True, timeout=timeout + 30)
        if waiter.returncode != 0 or not self.alive():
            self.kill()
            raise ServerStartError(f"{self.ns}: {waiter.stderr.strip()}; stderr:\n{self.stderr_tail()}")


def hub_conf(i: int, store: Path) -> str:
    routes = ", ".join(f"nats-route://127.0.0.1:{6221 + n}" for n in (1, 2, 3))
    return f"""
server_name: hub-{i}
listen: "127.0.0.1:{4221 + i}"
http: "0.0.0.0:{8221 + i}"
ping_interval: "5s"
ping_max: 3
jetstream {{ domain: hub, store_dir: "{store}", max_file_store: 2GB, max_memory_store: 128MB }}
cluster {{ name: mesgate-hub, listen: "127.0.0.1:{6221 + i}", routes: [{routes}] }}
leafnodes {{ listen: "0.0.0.0:{7421 + i}", no_advertise: true }}
"""


def leaf_conf(plant: str, hub_ip: str, store: Path) -> str:
    urls = ", ".join(f"nats://{hub_ip}:{7421 + n}" for n in (1, 2, 3))
    return f"""
server_name: leaf-{plant}
listen: "127.0.0.1:4222"
http: "127.0.0.1:8222"
ping_interval: "5s"
ping_max: 3
jetstream {{ domain: plant{plant}, store_dir: "{store}", max_file_store: 1GB, max_memory_store: 64MB }}
leafnodes {{ remotes = [ {{ urls: [{urls}] }} ] }}
"""


# --------------------------------------------------------------------------- the topology


class WAN:
    """The namespaces, links and processes of one run, and what the scenario measured."""

    def __init__(self, tmp: Path, binary: Path, stubs: Path):
        self.tmp, self.binary, self.stubs = tmp, binary, stubs
        self.suffix = secrets.token_hex(2)
        self.hub_ns = f"mgw{self.suffix}h"
        self.plant_ns = {p: f"mgw{self.suffix}{p.lower()}" for p in PLANTS}
        self.plant_link = {p: f"mgw{self.suffix}{p.lower()}1" for p in PLANTS}  # the plant's end of its WAN link
        self.namespaces: list[str] = []
        self.procs: list[Proc] = []
        self.gateways: list[NSGateway] = []
        self.hub_nodes: dict[int, Proc] = {}
        self.leafs: dict[str, Proc] = {}
        self.plants: dict[str, NSGateway] = {}
        self.loads: dict[str, Proc] = {}
        self.hub: NSGateway | None = None
        self.hub_ip = ""
        self.tag = f"w{self.suffix}"
        self.timings: list[str] = []
        self.marks: dict[str, float] = {}

    # ---- setup

    def ns_add(self, name: str) -> None:
        run("ip", "netns", "add", name)
        self.namespaces.append(name)
        run("ip", "-n", name, "link", "set", "lo", "up")

    def veth(self, a: str, a_ns: str | None, b: str, b_ns: str) -> None:
        run("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        if a_ns:
            run("ip", "link", "set", a, "netns", a_ns)
        run("ip", "link", "set", b, "netns", b_ns)

    def build_network(self) -> None:
        self.ns_add(self.hub_ns)
        net = pick_root_subnet()
        root_ip, self.hub_ip = (str(h) for h in net.hosts())
        root_end, hub_end = f"mgw{self.suffix}r0", f"mgw{self.suffix}r1"
        self.veth(root_end, None, hub_end, self.hub_ns)
        run("ip", "addr", "add", f"{root_ip}/30", "dev", root_end)
        run("ip", "link", "set", root_end, "up")
        run("ip", "-n", self.hub_ns, "addr", "add", f"{self.hub_ip}/30", "dev", hub_end)
        run("ip", "-n", self.hub_ns, "link", "set", hub_end, "up")
        for i, p in enumerate(PLANTS, start=1):
            ns = self.plant_ns[p]
            self.ns_add(ns)
            hub_side = f"mgw{self.suffix}{p.lower()}0"
            self.veth(hub_side, self.hub_ns, self.plant_link[p], ns)
            run("ip", "-n", self.hub_ns, "addr", "add", f"10.77.{i}.1/24", "dev", hub_side)
            run("ip", "-n", ns, "addr", "add", f"10.77.{i}.2/24", "dev", self.plant_link[p])
            run("ip", "-n", self.hub_ns, "link", "set", hub_side, "up")
            run("ip", "-n", ns, "link", "set", self.plant_link[p], "up")

    def proc(self, ns: str, name: str, cmd: list[str]) -> Proc:
        p = Proc(ns, name, cmd, self.tmp / "logs" / f"{name}.log")
        self.procs.append(p)
        return p.start()

    def start_hub_node(self, i: int) -> Proc:
        conf = self.tmp / f"hub-{i}.conf"
        conf.write_text(hub_conf(i, self.tmp / f"hub-{i}-js"))
        self.hub_nodes[i] = self.proc(self.hub_ns, f"nats-hub-{i}", [NATS_SERVER, "-c", str(conf)])
        return self.hub_nodes[i]

    def hub_node_healthy(self, i: int):
        if not self.hub_nodes[i].alive():
            pytest.fail(f"hub node {i} exited:\n{self.hub_nodes[i].tail()}", pytrace=False)
        try:
            return True if http_json(f"http://{self.hub_ip}:{8221 + i}/healthz").get("status") == "ok" else "not ok"
        except Exception as e:  # not listening yet, or 503 while JetStream recovers
            return f"{type(e).__name__}: {e}"

    def leaf_connections(self) -> dict[str, int]:
        """Which hub node each plant's leaf node is connected to (2.9's /leafz names a leaf by its
        address only: 10.77.<i>.2 is plant i's end of its link)."""
        plant_of_ip = {f"10.77.{i}.2": p for i, p in enumerate(PLANTS, start=1)}
        where = {}
        for i, node in self.hub_nodes.items():
            if not node.alive():
                continue
            try:
                for leaf in http_json(f"http://{self.hub_ip}:{8221 + i}/leafz").get("leafs") or []:
                    where[plant_of_ip.get(leaf.get("ip"), leaf.get("ip"))] = i
            except Exception:
                continue
        return where

    def start_leaf(self, i: int, plant: str) -> None:
        conf = self.tmp / f"leaf-{plant}.conf"
        conf.write_text(leaf_conf(plant, f"10.77.{i}.1", self.tmp / f"leaf-{plant}-js"))
        self.leafs[plant] = self.proc(self.plant_ns[plant], f"nats-leaf-{plant}", [NATS_SERVER, "-c", str(conf)])

    def gateway(self, ns: str, host: str, name: str, args: list[str], port: int, admin: int) -> NSGateway:
        gw = NSGateway(self.binary, self.tmp / name, self.tmp / "logs" / name, ns, host, args, self.stubs, port,
                       admin)
        self.gateways.append(gw)
        try:
            gw.start()
        except ServerStartError as e:
            pytest.fail(f"{name}: {e}", pytrace=False)
        return gw

    def start_hub_gateway(self) -> None:
        nats = ",".join(f"nats://127.0.0.1:{4221 + i}" for i in (1, 2, 3))
        domains = [a for p in PLANTS for a in ("--plant-domain", f"{p}=plant{p}")]
        self.hub = self.gateway(self.hub_ns, self.hub_ip, "hub", ["hub", "--nats", nats, *domains, "--replicas", "3"],
                                HUB_GRPC, HUB_ADMIN)

    def start_load(self, plant: str) -> None:
        self.loads[plant] = self.proc(self.plant_ns[plant], f"load-{plant}", [
            sys.executable, str(HERE / "wanplant.py"), "load", "127.0.0.1:50051", "--stubs", str(self.stubs),
            "--plant", plant, "--tag", self.tag, "--rate", str(RATE), "--progress", str(self.progress_path(plant))])

    def progress_path(self, plant: str) -> Path:
        return self.tmp / f"progress-{plant}.jsonl"

    def progress(self, plant: str) -> list[dict]:
        path = self.progress_path(plant)
        if not path.exists():
            return []
        lines = path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip().endswith("}")]

    def in_plant(self, plant: str, *args: str, timeout: float = 60) -> dict:
        out = subprocess.run(["ip", "netns", "exec", self.plant_ns[plant], sys.executable, str(HERE / "wanplant.py"),
                              *args, "--stubs", str(self.stubs)], capture_output=True, text=True, timeout=timeout)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def mirror_last_sequence(self, plant: str) -> int:
        """The last sequence of the hub's mirror of `plant`'s stream, as the hub nodes that are up
        report it (the highest: a node just restarted may lag)."""
        best = 0
        for i, node in self.hub_nodes.items():
            if not node.alive():
                continue
            try:
                jsz = http_json(f"http://{self.hub_ip}:{8221 + i}/jsz?accounts=true&streams=true")
            except Exception:
                continue
            for account in jsz.get("account_details") or []:
                for stream in account.get("stream_detail") or []:
                    if stream.get("name") == f"MESGATE_PLANT_{plant}":
                        best = max(best, stream.get("state", {}).get("last_seq", 0))
        return best

    def link(self, plant: str, up: bool) -> None:
        run("ip", "-n", self.plant_ns[plant], "link", "set", self.plant_link[plant], "up" if up else "down")

    def note(self, text: str) -> None:
        self.timings.append(f"{time.monotonic() - self.marks['t0']:6.1f} s  {text}")

    # ---- teardown

    def teardown(self) -> None:
        for load in self.loads.values():
            load.stop(signal.SIGKILL)
        for gw in reversed(self.gateways):
            try:
                gw.stop()
            except Exception:
                gw.kill()
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception:
                pass
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
        # A veth end left in this namespace by a setup that failed half-way.
        links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, timeout=20).stdout
        for name in (line.split()[0].split("@")[0] for line in links.splitlines() if line.strip()):
            if name.startswith(f"mgw{self.suffix}"):
                subprocess.run(["ip", "link", "del", name], capture_output=True, timeout=20)


# --------------------------------------------------------------------------- reading the stores


def store_events(db: Path) -> set[tuple]:
    """(sequence, event_id, raw) of a plant store, read-only."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return {(r[0], r[1], bytes(r[2])) for r in con.execute("SELECT sequence, event_id, raw FROM events")}
    finally:
        con.close()


def hub_events(db: Path) -> set[tuple]:
    """(plant, plant sequence, the plant's event id, raw) of the hub store."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = con.execute("SELECT p.plant, p.plant_sequence, e.event_id, e.raw FROM plant_events p "
                           "JOIN events e ON e.sequence = p.sequence")
        return {(r[0], r[1], r[2].split("/", 1)[1], bytes(r[3])) for r in rows}
    finally:
        con.close()


def count(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def union_of_plants(wan: WAN) -> set[tuple]:
    return {(p, seq, eid, raw) for p, gw in wan.plants.items() for (seq, eid, raw) in store_events(gw.db_path)}


def hub_counts(wan: WAN) -> dict[str, int]:
    """Plant events applied at the hub, per plant; fails at once if the hub gateway has exited."""
    if not wan.hub.alive():
        pytest.fail(f"the hub gateway exited:\n{wan.hub.stderr_tail()}", pytrace=False)
    if not wan.hub.db_path.exists():
        return {}
    return dict(count(wan.hub.db_path, "SELECT plant, count(*) FROM plant_events GROUP BY plant"))


def plant_counts(wan: WAN) -> dict[str, int]:
    return {p: count(gw.db_path, "SELECT count(*) FROM events")[0][0] for p, gw in wan.plants.items()}


# --------------------------------------------------------------------------- the scenario


def scenario(wan: WAN) -> None:
    wan.marks["t0"] = time.monotonic()
    (wan.tmp / "logs").mkdir()
    wan.build_network()
    for i in (1, 2, 3):
        wan.start_hub_node(i)
    for i in (1, 2, 3):
        wait_for(lambda: wan.hub_node_healthy(i), 60, f"hub node {i} healthy (JetStream cluster formed)")
    for i, p in enumerate(PLANTS, start=1):
        wan.start_leaf(i, p)
    wait_for(lambda: True if set(wan.leaf_connections()) >= set(PLANTS)
             else f"connected: {wan.leaf_connections()}", 30, "every plant's leaf node connected to the hub")
    wan.note(f"hub cluster up, leaf nodes connected: {wan.leaf_connections()}")
    for p in PLANTS:
        wan.plants[p] = wan.gateway(wan.plant_ns[p], "127.0.0.1", f"plant{p}", [
            "serve", "--replicate", "nats://127.0.0.1:4222", "--plant", p, "--hub-domain", "hub"], 50051, 9464)
    wan.start_hub_gateway()
    wan.note("plant gateways and hub gateway serving")

    for p in PLANTS:
        wan.start_load(p)
    wait_for(lambda: True if all(hub_counts(wan).get(p, 0) > 0 for p in PLANTS) else hub_counts(wan), 60,
             "events of every plant applied at the hub")
    wan.marks["load"] = time.monotonic()
    wan.note(f"load running ({RATE:g} events/s per plant), every plant's events reach the hub: {hub_counts(wan)}")
    settle_until(wan, wan.marks["load"] + 5)

    # The WAN link of plant B goes down for CUT_S.
    wan.link(CUT_PLANT, up=False)
    cut = wan.marks["cut"] = time.monotonic()
    wan.marks["cut_wall"] = time.time()
    wan.note(f"plant {CUT_PLANT}'s link down")
    settle_until(wan, cut + 5)
    b_mirrored_early = wan.mirror_last_sequence(CUT_PLANT)

    # A hub node dies: the one plant A's leaf node is connected to (it has to move to another).
    settle_until(wan, cut + 8)
    victim = wan.leaf_connections().get("A") or 2
    wan.hub_nodes[victim].send(signal.SIGKILL)
    wan.hub_nodes[victim].proc.wait(timeout=10)
    wan.marks["victim"] = victim
    wan.note(f"hub node {victim} (plant A's leaf node's) SIGKILLed")
    wait_for(lambda: True if wan.leaf_connections().get("A") not in (None, victim) else wan.leaf_connections(), 30,
             "plant A's leaf node connected to another hub node")
    wan.note(f"plant A's leaf node moved to hub node {wan.leaf_connections()['A']}")

    settle_until(wan, cut + 23)
    wan.start_hub_node(victim)
    wait_for(lambda: wan.hub_node_healthy(victim), 60, f"hub node {victim} healthy again")
    wan.note(f"hub node {victim} restarted and healthy")

    # The hub gateway crashes, stays away for 5 s and comes back.
    settle_until(wan, cut + 33)
    wan.hub.kill()
    wan.note("hub gateway SIGKILLed")
    settle_until(wan, cut + 38, hub_up=False)
    try:
        wan.hub.start()
    except ServerStartError as e:
        pytest.fail(f"hub gateway after SIGKILL: {e}", pytrace=False)
    wan.note("hub gateway serving again")

    settle_until(wan, cut + CUT_S)
    b_mirrored_late = wan.mirror_last_sequence(CUT_PLANT)
    wan.link(CUT_PLANT, up=True)
    wan.marks["restore"] = time.monotonic()
    wan.marks["restore_wall"] = time.time()
    wan.note(f"plant {CUT_PLANT}'s link up again (the hub's mirror of its stream at sequence {b_mirrored_late}, "
             f"{b_mirrored_early} at +5 s of the cut; {plant_counts(wan)[CUT_PLANT]} events in its store)")
    wan.marks["b_mirrored"] = (b_mirrored_early, b_mirrored_late)

    # B's backlog reaches the hub: first its mirror (JetStream across the link), then the hub store.
    target = plant_counts(wan)[CUT_PLANT]
    mirrored_at = []

    def backlog_applied():
        if not mirrored_at and wan.mirror_last_sequence(CUT_PLANT) >= target:
            mirrored_at.append(time.monotonic())
        return True if hub_counts(wan).get(CUT_PLANT, 0) >= target else hub_counts(wan)
    wait_for(backlog_applied, 90, f"plant {CUT_PLANT}'s backlog at the hub")
    restore = wan.marks["restore"]
    wan.note(f"plant {CUT_PLANT}'s {target} events (its store at restore) mirrored at the hub "
             + (f"{mirrored_at[0] - restore:.1f} s" if mirrored_at else "(not seen)")
             + f" and applied {time.monotonic() - restore:.1f} s after the link came back")

    settle_until(wan, wan.marks["restore"] + 10)
    for load in wan.loads.values():
        load.send(signal.SIGTERM)
    for p, load in wan.loads.items():
        try:
            load.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"plant {p}'s load generator did not stop:\n{load.tail()}", pytrace=False)
    wan.marks["stopped"] = time.monotonic()
    final = {p: wan.progress(p)[-1] for p in PLANTS}
    wan.note("load stopped: " + ", ".join(f"{p} {f['acked']} acked" for p, f in final.items()))

    expected = union_of_plants(wan)
    wait_for(lambda: True if sum(hub_counts(wan).values()) >= len(expected) else hub_counts(wan), CATCH_UP_S,
             f"the hub holding all {len(expected)} plant events")
    wan.note(f"hub caught up: {sum(hub_counts(wan).values())} events "
             f"({time.monotonic() - wan.marks['stopped']:.1f} s after the load stopped)")


def settle_until(wan: WAN, at: float, hub_up: bool = True) -> None:
    """Lets the load run until monotonic time `at` (the scenario's schedule), failing early if a
    process of the topology died."""
    while time.monotonic() < at:
        for gw in [*wan.plants.values(), *([wan.hub] if hub_up else [])]:
            if gw is not None and not gw.alive():
                pytest.fail(f"{gw.ns} gateway exited:\n{gw.stderr_tail()}", pytrace=False)
        for p, load in wan.loads.items():
            if not load.alive():
                pytest.fail(f"plant {p}'s load generator exited:\n{load.tail()}", pytrace=False)
        time.sleep(min(0.5, max(0.0, at - time.monotonic())))


@pytest.fixture(scope="module")
def wan(binary, pb, tmp_path_factory, pytestconfig):
    reason = why_not_runnable()
    if reason:
        pytest.skip(reason)
    topology = WAN(tmp_path_factory.mktemp("wan"), binary, Path(pb.dir))
    try:
        scenario(topology)
        yield topology
    finally:
        topology.teardown()
        # To the terminal, also when every test passed (output is captured while fixtures finish).
        reporter = pytestconfig.pluginmanager.getplugin("terminalreporter")
        capture = pytestconfig.pluginmanager.getplugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line("")
                reporter.write_line(f"test_multiplant_wan timings (work folder {topology.tmp}):")
                for line in topology.timings:
                    reporter.write_line("  " + line)


# --------------------------------------------------------------------------- the walk done here


def node_key(ref) -> tuple | None:
    """A LotRef as a node of the graph (MESDomain.LotRef.kind), or None when it is not tracked."""
    if ref.container:
        return ("container", ref.container) if not (ref.product or ref.lot or ref.serial) else None
    if not ref.product:
        return None
    if ref.serial:
        return ("serial", ref.product, ref.serial)
    if ref.lot:
        return ("lot", ref.product, ref.lot)
    return None


def edges_of(pb, raw: bytes) -> list[tuple]:
    """The "went into" edges one stored event makes (genealogy/MODEL.md, EventRecorder.swift)."""
    e = pb.events_pb2.Event.FromString(raw)
    order = ("order", e.work_order) if e.work_order else None
    kind = e.WhichOneof("body")
    out = []
    if kind == "consumed":
        c = e.consumed
        component = node_key(c.component)
        if component is None:
            return out
        into = node_key(c.into) if c.HasField("into") else None
        if into is not None:
            out.append((component, into))
            if order:
                out.append((order, into))
        elif order:
            out.append((component, order))
    elif kind == "produced":
        output = node_key(e.produced.output)
        if order and output is not None:
            out.append((order, output))
    elif kind == "packed":
        if e.packed.action != pb.events_pb2.Packed.DELETE:
            container = node_key(e.packed.container)
            out += [(node_key(item), container) for item in e.packed.contents if node_key(item) is not None]
    elif kind == "moved":
        lot, new_lot = node_key(e.moved.lot), node_key(e.moved.new_lot) if e.moved.HasField("new_lot") else None
        if lot is not None and new_lot is not None:
            out.append((lot, new_lot))
    return out


def walk(graph: dict, start: tuple) -> set[tuple]:
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in graph.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def trace_nodes(wan: WAN, pb, key: tuple, direction) -> set[tuple]:
    c = pb.common_pb2
    ref = {"lot": lambda: c.LotRef(product=key[1], lot=key[2]),
           "serial": lambda: c.LotRef(product=key[1], serial=key[2]),
           "container": lambda: c.LotRef(container=key[1])}[key[0]]()
    with wan.hub.channel() as ch:
        result = pb.genealogy_pb2_grpc.GenealogyStub(ch).Trace(
            pb.genealogy_pb2.TraceRequest(lot=ref, direction=direction), timeout=RPC_TIMEOUT_S)
    assert not result.truncated, f"trace from {key} truncated"
    nodes = set()
    for n in result.nodes:
        if n.work_order:
            nodes.add(("order", n.work_order))
        else:
            nodes.add(node_key(n.lot))
    return nodes


# --------------------------------------------------------------------------- the checks


def test_the_hub_holds_exactly_the_union_of_the_plant_stores(wan):
    expected = union_of_plants(wan)
    got = hub_events(wan.hub.db_path)
    missing, unexpected = expected - got, got - expected
    assert not missing and not unexpected, (
        f"{len(missing)} plant events missing at the hub (first: {sorted(missing)[:3]}), "
        f"{len(unexpected)} the plants do not hold (first: {sorted(unexpected)[:3]})")
    per_plant = {p: sum(1 for e in got if e[0] == p) for p in PLANTS}
    assert all(n > 0 for n in per_plant.values()), per_plant
    # Each plant's sequences are its store's: no hole, nothing twice.
    for p, gw in wan.plants.items():
        seqs = sorted(s for (s, _, _) in store_events(gw.db_path))
        assert sorted(e[1] for e in got if e[0] == p) == seqs
    wan.note(f"hub == union of the plant stores: {len(got)} events {per_plant}")


def test_the_cut_plant_kept_acking_and_the_cut_was_real(wan):
    samples = wan.progress(CUT_PLANT)
    cut, restore = wan.marks["cut_wall"], wan.marks["restore_wall"]
    before = [s for s in samples if s["t"] < cut]
    during = [s for s in samples if cut + 1 <= s["t"] <= restore - 1]
    assert len(before) >= 3 and len(during) >= CUT_S * 0.8, (len(before), len(during))
    acked_during = during[-1]["acked"] - during[0]["acked"]
    span = during[-1]["t"] - during[0]["t"]
    rate_before = (before[-1]["acked"] - before[0]["acked"]) / max(before[-1]["t"] - before[0]["t"], 1e-3)
    longest_gap = max(b["t"] - a["t"] for a, b in zip(during, during[1:]))
    slowest_ack = max(s["max_ack_s"] for s in during)
    wan.note(f"plant {CUT_PLANT} during the cut: {acked_during} acks in {span:.0f} s "
             f"({acked_during / span:.0f}/s; {rate_before:.0f}/s before), slowest ack {slowest_ack:.3f} s, "
             f"longest silence {longest_gap:.1f} s")
    assert acked_during / span >= 0.5 * rate_before, "ingest slowed down while the link was cut"
    assert longest_gap < 3.0 and slowest_ack < 2.0, "ingest waited for the cut link"
    final = samples[-1]
    assert final["rejected"] == 0, final["rejections"]
    # The cut was real: the hub's mirror of plant B's stream did not move from +5 s to the end of it.
    early, late = wan.marks["b_mirrored"]
    assert 0 < early == late, f"plant {CUT_PLANT}'s mirror at the hub: {early} at +5 s of the cut, {late} at its end"
    for p in PLANTS:
        assert wan.progress(p)[-1]["rejected"] == 0, wan.progress(p)[-1]["rejections"]


def test_cross_plant_traces_at_the_hub_match_a_walk_of_every_plants_events(wan, pb):
    forward, backward = {}, {}
    made_during_cut = set()  # nodes an event names as received, produced or packed while B was cut off
    cut_ms, restore_ms = wan.marks["cut_wall"] * 1000, wan.marks["restore_wall"] * 1000
    for gw in wan.plants.values():
        for (_, _, raw) in store_events(gw.db_path):
            for a, b in edges_of(pb, raw):
                forward.setdefault(a, set()).add(b)
                backward.setdefault(b, set()).add(a)
            e = pb.events_pb2.Event.FromString(raw)
            if cut_ms + 5000 <= e.occurred_at_ms <= restore_ms - 5000:
                kind = e.WhichOneof("body")
                ref = {"received": lambda: e.received.lot, "produced": lambda: e.produced.output,
                       "packed": lambda: e.packed.container}.get(kind, lambda: None)()
                if ref is not None:
                    made_during_cut.add(node_key(ref))

    def number(key) -> int:
        return int(key[-1].rsplit("-", 1)[1])

    def numbered(keys):
        return sorted(keys, key=number)

    steel = numbered(k for k in forward if k[:2] == ("lot", "STEEL"))
    motors = numbered(k for k in forward if k[:2] == ("lot", "MOTOR"))
    assemblies = numbered(k for k in forward if k[:2] == ("lot", "ASSY"))
    pallets = numbered(k for k in backward if k[0] == "container")
    assert len(steel) > 100 and len(pallets) > 20 and motors and assemblies, (len(steel), len(pallets))
    # The finer rules in the answer: steel whose bracket had a part split off (every third cycle),
    # pallets a pump was unpacked from and moved to the next one (an ended containment is followed).
    steel = [k for k in steel if number(k) % 3 == 0]
    pallets = [k for k in pallets if number(k) % 2 == 1]

    def during_cut(keys):
        inside = [k for k in keys if k in made_during_cut]
        assert inside, f"none of {keys[:3]}... was made while plant {CUT_PLANT} was cut off"
        return inside[len(inside) // 2]

    F, B = pb.common_pb2.FORWARD, pb.common_pb2.BACKWARD
    # Early, during the cut (plant B's events reached the hub only after it) and late; from each
    # plant's material: A's steel (recall), B's motors and assemblies, C's pallets (what went in).
    starts = [(s, F) for s in (steel[1], during_cut(steel), steel[-7])]
    starts += [(p, B) for p in (pallets[0], during_cut(pallets), pallets[-3])]
    starts += [(during_cut(motors), F), (during_cut(assemblies), F), (during_cut(assemblies), B)]
    spanning = 0
    for start, direction in starts:
        expected = walk(forward if direction == F else backward, start)
        got = trace_nodes(wan, pb, start, direction)
        name = pb.common_pb2.Direction.Name(direction)
        extra, lacking = sorted(got - expected), sorted(expected - got)
        assert got == expected, (f"{name} from {start}: the hub has {len(extra)} nodes the walk does not "
                                 f"({extra[:5]}), lacks {len(lacking)} ({lacking[:5]})")
        if {PLANT_OF_PRODUCT.get(n[1], "C" if n[0] == "container" else "") for n in expected} >= set(PLANTS):
            spanning += 1
    # Not vacuous: the steel and pallet walks cross all three plants (material of A, B and C).
    assert spanning >= 5, f"only {spanning} of the steel and pallet traces span plants A, B and C"
    wan.note(f"{len(starts)} hub traces equal the walk over every plant's events ({spanning} span A→B→C)")


def test_a_hold_placed_at_the_hub_stops_the_shipment_at_the_plant_that_received_the_lot(wan, pb):
    # A bracket lot plant A made and shipped, plant B received and built into assembly k.
    received_at_b = {e.received.lot.lot for (_, _, raw) in store_events(wan.plants["B"].db_path)
                     for e in [pb.events_pb2.Event.FromString(raw)] if e.WhichOneof("body") == "received"}
    shipped_by_a = {e.shipped.lot.lot for (_, _, raw) in store_events(wan.plants["A"].db_path)
                    for e in [pb.events_pb2.Event.FromString(raw)] if e.WhichOneof("body") == "shipped"}
    both = sorted(received_at_b & shipped_by_a, key=lambda lot: int(lot.rsplit("-", 1)[1]))
    assert len(both) > 10, len(both)
    bracket_lot = both[len(both) // 2]
    k = bracket_lot.rsplit("-", 1)[1]
    bracket = pb.common_pb2.LotRef(product="BRACKET", lot=bracket_lot)
    assy = f"ASSY/B-X-{wan.tag}-{k}"

    placed = time.time()
    with wan.hub.channel() as ch:
        held = pb.quality_pb2_grpc.QualityStub(ch).PlaceHold(
            pb.quality_pb2.HoldRequest(lot=bracket, reason="supplier recall at the hub", propagate=True),
            timeout=RPC_TIMEOUT_S).held
    held_keys = {node_key(r) for r in held}
    assert ("lot", "ASSY", f"B-X-{wan.tag}-{k}") in held_keys, f"the hub's hold misses assembly {k}: {held_keys}"

    result = wan.in_plant("B", "ship-until-refused", "127.0.0.1:50051", "--lot", assy, "--timeout", "30", timeout=90)
    attempts = result["attempts"]
    statuses = sorted({a["status"] for a in attempts})
    refused = [a for a in attempts if a["status"] == "FAILED_PRECONDITION"]
    outcome = (f"refused {refused[0]['at'] - placed:.1f} s after PlaceHold at the hub "
               f"({len(attempts) - 1} shipments accepted before)" if refused
               else f"never refused in 30 s ({len(attempts)} attempts: {statuses})")
    wan.note(f"hold at the hub on {bracket_lot}: plant B's shipment of assembly {k}: {outcome}")
    assert refused, (f"plant B shipped assembly {k} for 30 s after the hub held lot {bracket_lot} "
                     f"(statuses {statuses}): the hub's hold never reached plant B")
    # The received lot itself cannot leave plant B either.
    again = wan.in_plant("B", "ship", "127.0.0.1:50051", "--lot", f"BRACKET/{bracket_lot}")
    assert again["status"] == "FAILED_PRECONDITION", again
