"""Many plants (issue 12): plant gateways replicate their stores to a JetStream server, and the hub
applies every plant's stream into one enterprise store that answers traces across plants.

Every test starts its own `nats-server -js` (Debian's 2.9) on a free port with a store in tmp_path."""

from __future__ import annotations

import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import grpc
import pytest

from conftest import RPC_TIMEOUT_S, Server, admin_get, free_port
from mesevents import lot, qty

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


class NATSServer:
    """One JetStream server; restartable on the same store (a cut link, a crash)."""

    def __init__(self, tmp_path: Path):
        self.port = free_port()
        self.store = tmp_path / "jetstream"
        self.log = tmp_path / "nats-server.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> "NATSServer":
        if not Path(NATS_SERVER).exists():
            pytest.fail("nats-server is not installed (apt-get install nats-server; scripts/test installs it)")
        self.proc = subprocess.Popen(
            [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store)],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    pytest.fail(f"nats-server exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
                time.sleep(0.1)
        pytest.fail("nats-server did not listen within 20 s")

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def nats(tmp_path):
    server = NATSServer(tmp_path).start()
    yield server
    server.stop()


class Hub(Server):
    """`mesgate hub`: the same process model as `serve`, another command line."""

    def __init__(self, *args, nats_url: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.nats_url = nats_url

    def command(self) -> list[str]:
        return [str(self.binary), "hub", "--listen", self.address, "--data", str(self.data), "--nats", self.nats_url,
                "--admin-listen", f"127.0.0.1:{self.admin_port}", *self.extra_args]


@pytest.fixture
def hub_factory(binary, tmp_path):
    made: list[Hub] = []

    def make(nats_url: str, start=True, extra=()):
        hub = Hub(binary, tmp_path / f"hub{len(made)}", tmp_path / "logs", nats_url=nats_url, extra_args=list(extra))
        made.append(hub)
        if start:
            hub.start()
        return hub

    yield make
    for hub in made:
        hub.stop()


def plant(server_factory, nats_url: str, name: str) -> Server:
    return server_factory(["--replicate", nats_url, "--plant", name])


def publish(srv: Server, pb, *events) -> list[int]:
    """Publishes each event (unary) and returns the stored sequences."""
    sequences = []
    with srv.channel() as ch:
        stub = pb.events_pb2_grpc.EventIngestStub(ch)
        for e in events:
            ack = stub.Publish(e, timeout=RPC_TIMEOUT_S)
            assert ack.result == pb.events_pb2.Ack.ACCEPTED, ack
            sequences.append(ack.sequence)
    return sequences


def make_event(pb, event_id: str, work_order: str = "", **body):
    (kind, message), = body.items()
    e = pb.events_pb2.Event(event_id=event_id, occurred_at_ms=int(time.time() * 1000), tz_offset="+01:00",
                            work_center="WC-1", operator_id="op-1", work_order=work_order)
    getattr(e, kind).CopyFrom(message)
    return e


def a_day_at_two_plants(pb, tag: str):
    """Plant A makes brackets from steel and ships lot B-<tag> to plant B, which receives it under the
    same reference and builds it into assemblies."""
    m = pb.events_pb2
    steel, bracket, assy = lot("STEEL", f"S-{tag}"), lot("BRACKET", f"B-{tag}"), lot("ASSY", f"X-{tag}")
    at_a = [
        make_event(pb, f"a-r-{tag}", received=m.MaterialReceived(lot=steel, qty=qty(100.0), supplier="Acme Steel")),
        make_event(pb, f"a-c-{tag}", f"A/MO/{tag}", consumed=m.MaterialConsumed(component=steel, qty=qty(40.0), into=bracket)),
        make_event(pb, f"a-p-{tag}", f"A/MO/{tag}", produced=m.ProductionReported(output=bracket, good=qty(50, "Units"))),
        make_event(pb, f"a-s-{tag}", shipped=m.Shipped(lot=bracket, qty=qty(50, "Units"), customer="PLANT-B",
                                                        delivery=f"A/OUT/{tag}")),
    ]
    at_b = [
        make_event(pb, f"b-r-{tag}", received=m.MaterialReceived(lot=bracket, qty=qty(50, "Units"), supplier="PLANT-A")),
        make_event(pb, f"b-c-{tag}", f"B/MO/{tag}", consumed=m.MaterialConsumed(component=bracket, qty=qty(50, "Units"), into=assy)),
        make_event(pb, f"b-p-{tag}", f"B/MO/{tag}", produced=m.ProductionReported(output=assy, good=qty(25, "Units"))),
    ]
    return at_a, at_b, (steel, bracket, assy)


def store_events(db: Path) -> set[tuple]:
    """(event_id, sequence, raw) of a plant store, read-only."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {(r[0], r[1], bytes(r[2])) for r in con.execute("SELECT event_id, sequence, raw FROM events")}
    finally:
        con.close()


def hub_events(db: Path) -> set[tuple]:
    """(plant, plant sequence, event id as the plant stored it, raw) of the hub store."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT p.plant, p.plant_sequence, e.event_id, e.raw FROM plant_events p JOIN events e ON e.sequence = p.sequence")
        return {(r[0], r[1], r[2].split("/", 1)[1], bytes(r[3])) for r in rows}
    finally:
        con.close()


def union(plants: dict[str, Server]) -> set[tuple]:
    return {(name, seq, event_id, raw) for name, srv in plants.items()
            for (event_id, seq, raw) in store_events(srv.db_path)}


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last is True:
            return
        time.sleep(0.2)
    pytest.fail(f"{what} not within {timeout} s (last: {last})")


def hub_has(hub: Hub, expected: set[tuple]):
    def check():
        got = hub_events(hub.db_path)
        return True if got == expected else f"{len(got)} of {len(expected)} events, {len(got - expected)} unexpected"
    return check


def trace(srv: Server, pb, ref, direction) -> object:
    with srv.channel() as ch:
        return pb.genealogy_pb2_grpc.GenealogyStub(ch).Trace(
            pb.genealogy_pb2.TraceRequest(lot=ref, direction=direction), timeout=RPC_TIMEOUT_S)


# ------------------------------------------------------------------------------------------------


def test_two_plants_replicate_and_the_hub_traces_across_them(server_factory, hub_factory, nats, pb):
    a, b = plant(server_factory, nats.url, "PLANT-A"), plant(server_factory, nats.url, "PLANT-B")
    at_a, at_b, (steel, bracket, assy) = a_day_at_two_plants(pb, "t1")
    publish(a, pb, *at_a)
    publish(b, pb, *at_b)
    hub = hub_factory(nats.url)
    plants = {"PLANT-A": a, "PLANT-B": b}
    wait_for(hub_has(hub, union(plants)), 30, "the hub holding exactly both plants' events")

    # Backward from plant B's assembly: through the bracket lot to plant A's steel and its supplier.
    result = trace(hub, pb, assy, pb.common_pb2.BACKWARD)
    lots = {(n.lot.product, n.lot.lot) for n in result.nodes if n.lot.product}
    assert ("BRACKET", "B-t1") in lots and ("STEEL", "S-t1") in lots, lots
    assert any(r.supplier == "Acme Steel" for r in result.receipts), result.receipts
    # Forward from plant A's steel: to plant B's assemblies.
    forward = trace(hub, pb, steel, pb.common_pb2.FORWARD)
    assert ("ASSY", "X-t1") in {(n.lot.product, n.lot.lot) for n in forward.nodes}
    # Each plant alone sees only its half.
    alone = trace(b, pb, assy, pb.common_pb2.BACKWARD)
    assert ("STEEL", "S-t1") not in {(n.lot.product, n.lot.lot) for n in alone.nodes}

    # The hub takes no events of its own: they come from plants.
    with hub.channel() as ch:
        with pytest.raises(grpc.RpcError) as info:
            pb.events_pb2_grpc.EventIngestStub(ch).Publish(at_a[0], timeout=RPC_TIMEOUT_S)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION, info.value.details()


def test_nothing_is_lost_or_doubled_across_a_cut_link_and_a_hub_crash(server_factory, hub_factory, nats, pb):
    a = plant(server_factory, nats.url, "PLANT-A")
    hub = hub_factory(nats.url)
    at_a, _, _ = a_day_at_two_plants(pb, "t2")
    publish(a, pb, *at_a[:2])
    plants = {"PLANT-A": a}
    wait_for(hub_has(hub, union(plants)), 30, "the first events at the hub")

    # The link is cut (the JetStream server is gone): the plant keeps acking at once.
    nats.stop(signal.SIGKILL)
    began = time.monotonic()
    publish(a, pb, *at_a[2:])
    now_ms = int(time.time() * 1000)
    extra = [make_event(pb, f"a-d-{i}", downtime=pb.events_pb2.DowntimeReported(
        reason="jam", loss=pb.events_pb2.DowntimeReported.AVAILABILITY, started_at_ms=now_ms - 60_000, ended_at_ms=now_ms))
        for i in range(200)]
    publish(a, pb, *extra)
    assert time.monotonic() - began < 20, "ingest waited for the cut link"

    # The hub is killed too, then everything comes back.
    hub.kill()
    nats.start()
    hub.start()
    wait_for(hub_has(hub, union(plants)), 60, "every event at the hub, once")
    assert len(hub_events(hub.db_path)) == 4 + 200


def hub_corrections(db: Path) -> list[tuple]:
    """(corrected event id, replacement's event id or None, reason, by, when) at the hub, oldest first."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(
            "SELECT e.event_id, r.event_id, c.reason, c.corrected_by, c.corrected_at_ms FROM corrections c "
            "JOIN events e ON e.sequence = c.sequence LEFT JOIN events r ON r.sequence = c.replacement_sequence "
            "ORDER BY c.id").fetchall()
    finally:
        con.close()


def test_a_plants_corrections_reach_the_hubs_trace(server_factory, hub_factory, nats, pb):
    """Plant A replaces its consumption of steel S by one of steel S2; plant B voids its consumption of
    A's brackets. The hub's trace across the plants follows the corrected genealogy, and its history
    shows what was corrected, by whom and why, as at the plants."""
    a, b = plant(server_factory, nats.url, "PLANT-A"), plant(server_factory, nats.url, "PLANT-B")
    at_a, at_b, (steel, bracket, assy) = a_day_at_two_plants(pb, "t6")
    m = pb.events_pb2
    steel2 = lot("STEEL", "S2-t6")
    publish(a, pb, make_event(pb, "a-r2-t6", received=m.MaterialReceived(lot=steel2, qty=qty(100.0),
                                                                         supplier="Acme Steel")), *at_a)
    publish(b, pb, *at_b)
    hub = hub_factory(nats.url)
    plants = {"PLANT-A": a, "PLANT-B": b}
    wait_for(hub_has(hub, union(plants)), 30, "both plants at the hub")
    before = trace(hub, pb, assy, pb.common_pb2.BACKWARD)
    assert ("STEEL", "S-t6") in {(n.lot.product, n.lot.lot) for n in before.nodes}

    fixed = m.Event()
    fixed.CopyFrom(at_a[1])
    fixed.event_id = "a-c-t6.fix"
    fixed.consumed.component.CopyFrom(steel2)
    with a.channel() as ch:
        replaced = pb.events_pb2_grpc.EventIngestStub(ch).Correct(
            m.CorrectionRequest(event_id="a-c-t6", reason="wrong heat number scanned", replacement=fixed),
            timeout=RPC_TIMEOUT_S)
    with b.channel() as ch:
        voided = pb.events_pb2_grpc.EventIngestStub(ch).Correct(
            m.CorrectionRequest(event_id="b-c-t6", reason="brackets went to rework, not assembly"),
            timeout=RPC_TIMEOUT_S)
    assert replaced.replacement_sequence > 0 and voided.replacement_sequence == 0

    wait_for(lambda: len(hub_corrections(hub.db_path)) == 2 or hub_corrections(hub.db_path), 30,
             "both corrections at the hub")
    wait_for(hub_has(hub, union(plants)), 30, "the replacement at the hub")
    corrections = {row[0]: row[1:] for row in hub_corrections(hub.db_path)}
    assert corrections["PLANT-A/a-c-t6"][:2] == ("PLANT-A/a-c-t6.fix", "wrong heat number scanned"), corrections
    assert corrections["PLANT-B/b-c-t6"][:2] == (None, "brackets went to rework, not assembly"), corrections

    # The brackets are made of S2 now, not S; the assemblies are made of nothing the hub knows of.
    brackets = trace(hub, pb, bracket, pb.common_pb2.BACKWARD)
    direct = {(getattr(e, "from").lot.product, getattr(e, "from").lot.lot) for e in brackets.edges
              if e.to.lot.lot == bracket.lot}
    assert ("STEEL", "S2-t6") in direct and ("STEEL", "S-t6") not in direct, direct
    after = trace(hub, pb, assy, pb.common_pb2.BACKWARD)
    assert not {("BRACKET", "B-t6"), ("STEEL", "S-t6")} & {(n.lot.product, n.lot.lot) for n in after.nodes}, after
    # Forward from S, as a recall would: nothing of plant B is reached any more.
    forward = trace(hub, pb, steel, pb.common_pb2.FORWARD)
    assert ("ASSY", "X-t6") not in {(n.lot.product, n.lot.lot) for n in forward.nodes}

    # The hub's history of the steel shows the original marked as at plant A, naming its replacement.
    with hub.channel() as ch:
        history = list(pb.genealogy_pb2_grpc.GenealogyStub(ch).LotHistory(steel, timeout=RPC_TIMEOUT_S))
    original = next(e for e in history if e.event.event_id.endswith("a-c-t6"))
    assert original.corrected.reason == "wrong heat number scanned", original
    assert original.corrected.replacement_event_id.endswith("a-c-t6.fix"), original
    with a.channel() as ch:
        at_plant = list(pb.genealogy_pb2_grpc.GenealogyStub(ch).LotHistory(steel, timeout=RPC_TIMEOUT_S))
    plant_original = next(e for e in at_plant if e.event.event_id == "a-c-t6")
    assert original.corrected.corrected_by == plant_original.corrected.corrected_by
    assert original.corrected.corrected_at_ms == plant_original.corrected.corrected_at_ms


def test_a_second_store_cannot_replicate_as_the_same_plant(server_factory, hub_factory, nats, pb):
    first = plant(server_factory, nats.url, "PLANT-A")
    at_a, _, _ = a_day_at_two_plants(pb, "t3")
    publish(first, pb, at_a[0])
    hub = hub_factory(nats.url)
    wait_for(hub_has(hub, union({"PLANT-A": first})), 30, "the first plant's event at the hub")

    impostor = plant(server_factory, nats.url, "PLANT-A")
    publish(impostor, pb, make_event(pb, "impostor-1", received=pb.events_pb2.MaterialReceived(
        lot=lot("STEEL", "S-impostor"), qty=qty(1.0))))

    def refused():
        text = impostor.stderr_tail()
        return True if "replicated by another store" in text or "is replicated by store" in text else "no refusal yet"
    wait_for(refused, 30, "the second store refusing to replicate as PLANT-A")
    time.sleep(1)
    assert hub_events(hub.db_path) == union({"PLANT-A": first}), "the hub took events from the second store"


def test_a_hold_at_the_hub_stops_shipments_in_every_plant_and_its_release_frees_them(
        server_factory, hub_factory, nats, pb):
    a, b = plant(server_factory, nats.url, "PLANT-A"), plant(server_factory, nats.url, "PLANT-B")
    at_a, at_b, (steel, bracket, assy) = a_day_at_two_plants(pb, "t4")
    publish(a, pb, *at_a)
    publish(b, pb, *at_b)
    hub = hub_factory(nats.url)
    wait_for(hub_has(hub, union({"PLANT-A": a, "PLANT-B": b})), 30, "both plants at the hub")
    # Plant B holds the assemblies itself too, for a reason of its own: the hub's release must not free them.
    other = lot("ASSY", "X-other")
    publish(b, pb, make_event(pb, "b-p-other", "B/MO/other", produced=pb.events_pb2.ProductionReported(
        output=other, good=qty(5, "Units"))))
    with b.channel() as ch:
        pb.quality_pb2_grpc.QualityStub(ch).PlaceHold(
            pb.quality_pb2.HoldRequest(lot=other, reason="local paint check"), timeout=RPC_TIMEOUT_S)

    # The steel received at plant A is bad: held once, at the hub.
    with hub.channel() as ch:
        held = pb.quality_pb2_grpc.QualityStub(ch).PlaceHold(
            pb.quality_pb2.HoldRequest(lot=steel, reason="supplier recall 7"), timeout=RPC_TIMEOUT_S)
    assert {(h.product, h.lot) for h in held.held} >= {("STEEL", "S-t4"), ("BRACKET", "B-t4"), ("ASSY", "X-t4")}
    # The answer says which plants it concerns and that each has applied it (it waits a few seconds).
    assert {(p.plant, p.applied) for p in held.plants} == {("PLANT-A", True), ("PLANT-B", True)}, held.plants
    assert all(p.lots >= 1 for p in held.plants), held.plants
    # So does the hub's status page, beside its plants.
    status, _, page = admin_get(hub, "/")
    assert status == 200
    assert "<h2>Plants</h2>" in page and "PLANT-A" in page and "PLANT-B" in page, page
    assert "Hub holds at the plants" in page and "not yet" not in page, page
    status, _, metrics = admin_get(hub, "/metrics")
    assert "mesgate_hub_applied_total" in metrics

    def ship(srv, ref, n):
        with srv.channel() as ch:
            stub = pb.events_pb2_grpc.EventIngestStub(ch)
            try:
                stub.Publish(make_event(pb, f"ship-{n}", shipped=pb.events_pb2.Shipped(
                    lot=ref, qty=qty(1, "Units"), customer="C1", delivery=f"OUT/{n}")), timeout=RPC_TIMEOUT_S)
                return "accepted"
            except grpc.RpcError as e:
                return e.code()

    attempts = iter(range(10_000))

    def refused_at(srv, ref):
        def check():
            got = ship(srv, ref, f"{srv.port}-{next(attempts)}")
            return True if got == grpc.StatusCode.FAILED_PRECONDITION else f"shipment {got}"
        return check

    # Plant B never saw the steel: what it holds is the bracket it received and what it made from it.
    wait_for(refused_at(b, assy), 20, "plant B refusing to ship assemblies made from the held steel")
    wait_for(refused_at(a, bracket), 20, "plant A refusing to ship brackets made from the held steel")

    with hub.channel() as ch:
        freed = pb.quality_pb2_grpc.QualityStub(ch).ReleaseHold(
            pb.quality_pb2.HoldRequest(lot=steel, reason="supplier cleared it"), timeout=RPC_TIMEOUT_S)
    assert {(p.plant, p.applied) for p in freed.plants} == {("PLANT-A", True), ("PLANT-B", True)}, freed.plants

    def accepted_at(srv, ref):
        def check():
            got = ship(srv, ref, f"{srv.port}-{next(attempts)}")
            return True if got == "accepted" else f"shipment {got}"
        return check

    wait_for(accepted_at(b, assy), 20, "plant B shipping assemblies again after the hub's release")
    # Plant B's own hold stands.
    assert ship(b, other, "other-1") == grpc.StatusCode.FAILED_PRECONDITION


def nats_publish(url: str, subject: str, headers: dict[str, str], body: bytes) -> None:
    """One message with headers on core NATS (HPUB), confirmed by a PING/PONG: what a faulty or hostile
    publisher could put in a plant's stream."""
    host, port = url.removeprefix("nats://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.recv(4096)  # INFO
        head = "NATS/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        s.sendall(b'CONNECT {"verbose":false,"headers":true,"no_responders":true}\r\n')
        s.sendall(f"HPUB {subject} {len(head)} {len(head) + len(body)}\r\n".encode() + head.encode() + body
                  + b"\r\nPING\r\n")
        reply = b""
        while b"PONG" not in reply:
            chunk = s.recv(4096)
            assert chunk, f"the NATS server closed the connection: {reply!r}"
            assert b"-ERR" not in chunk, chunk
            reply += chunk


def test_a_message_the_hub_cannot_apply_is_set_aside_and_the_stream_goes_on(server_factory, hub_factory, nats, pb):
    a = plant(server_factory, nats.url, "PLANT-A")
    at_a, _, _ = a_day_at_two_plants(pb, "t5")
    publish(a, pb, at_a[0])
    hub = hub_factory(nats.url)
    wait_for(hub_has(hub, union({"PLANT-A": a})), 30, "the first event at the hub")
    # Something that is not a plant event lands in plant A's stream (not through its gateway).
    nats_publish(nats.url, "mesgate.plant.PLANT-A.event",
                 {"Mesgate-Plant": "PLANT-A", "Mesgate-Store": "whatever", "Mesgate-Record": "event",
                  "Mesgate-Sequence": "999", "Mesgate-Recorded-At-Ms": "1"}, b"\xff\xff not protobuf")
    publish(a, pb, *at_a[1:])
    wait_for(hub_has(hub, union({"PLANT-A": a})), 30, "plant A's later events at the hub, past the bad message")

    con = sqlite3.connect(f"file:{hub.db_path}?mode=ro", uri=True)
    try:
        letters = con.execute("SELECT plant, stream, reason, body FROM hub_dead_letters").fetchall()
    finally:
        con.close()
    assert len(letters) == 1, letters
    plant_name, stream, reason, body = letters[0]
    assert (plant_name, stream) == ("PLANT-A", "MESGATE_PLANT_PLANT-A")
    assert "not a mes.v1.Event" in reason or "replicated by store" in reason, reason
    assert bytes(body) == b"\xff\xff not protobuf"
    status, _, page = admin_get(hub, "/")
    assert "could not be applied and were set aside" in page, page


@pytest.mark.parametrize(
    "args, mentions",
    [
        ([], "hub needs --nats"),
        (["--nats", "http://127.0.0.1:4222"], "nats must be nats://HOST:PORT"),
        (["--nats", "nats://127.0.0.1:4222", "--plant-domain", "PLANT-A"], "plant-domain must be NAME=DOMAIN"),
        (["--nats", "nats://127.0.0.1:4222", "--plant-domain", "a.b=plantA"], "plant-domain must be NAME=DOMAIN"),
        (["--nats", "nats://127.0.0.1:4222", "--replicas", "7"], "replicas must be 1 to 5"),
        (["--nats", "nats://127.0.0.1:4222", "--replicate", "nats://127.0.0.1:4222", "--plant", "A"],
         "the hub replicates nothing"),
    ],
    ids=["no-nats", "nats-not-nats", "plant-domain-no-domain", "plant-domain-bad-name", "replicas-out-of-range",
         "hub-with-replicate"],
)
def test_a_hub_with_bad_options_says_what_is_wrong(binary, tmp_path, args, mentions):
    result = subprocess.run([str(binary), "hub", "--data", str(tmp_path / "hub"), "--listen", "127.0.0.1:0", *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert mentions in result.stderr, result.stderr


def test_hub_shards_each_take_their_plant_group(server_factory, hub_factory, nats, pb):
    a, b = plant(server_factory, nats.url, "PLANT-A"), plant(server_factory, nats.url, "PLANT-B")
    at_a, at_b, _ = a_day_at_two_plants(pb, "t6")
    publish(a, pb, *at_a)
    publish(b, pb, *at_b)
    first = hub_factory(nats.url, extra=["--plants", "PLANT-A"])
    second = hub_factory(nats.url, extra=["--plants", "PLANT-B"])
    wait_for(hub_has(first, union({"PLANT-A": a})), 30, "shard 1 holding plant A only")
    wait_for(hub_has(second, union({"PLANT-B": b})), 30, "shard 2 holding plant B only")
    time.sleep(1.5)  # a discovery round later (1 s), neither took the other's plant
    assert hub_events(first.db_path) == union({"PLANT-A": a})
    assert hub_events(second.db_path) == union({"PLANT-B": b})
