"""bench/chaos: the crash campaign of issue 15 (item 3).

Rounds of SIGKILL of `mesgate serve` at a random moment under mixed load, each followed by a
restart on the same data folder and checks of everything the clients were told:

- load: PublishStream clients and a unary Publish client (grpcio, one channel each) sending order
  events (consumption, production, operations, scrap, quality, downtime opened then closed) and
  genealogy events from Tests/e2e/mesevents.py; a Quality client placing and releasing holds; an
  EPCIS client importing capture documents it generates and GS1's reference capture documents
  (../shared/reference/epcis/capture/valid, read at run time); the poster posting to the Odoo
  emulator (Tests/odoo_emulator) all the while.
- after the restart: every acked event is stored once under its acked sequence; events whose ack
  never came are sent again and must be ACCEPTED, or DUPLICATE under the sequence they are stored
  with; acked ones sent again must be DUPLICATE under their acked sequence. Answered holds and
  releases are in the store; an EPCIS document answered is stored once and its re-import stores
  nothing, one never answered is stored whole or not at all. Once the outbox is drained: `mesgate
  reconcile` agrees with Odoo for every order, each scrap event is one validated `stock.scrap`
  (origin `MES:<event id>`), each stop one `mrp.workcenter.productivity` (closed when the plant
  closed it), each quality result one note, each hold item one activity (open) or one done message
  (released), nothing in Odoo the plant did not report; `mesgate audit verify` intact.
- then SIGSTOP of the server for --stop-seconds mid-stream: every client call ends within its
  deadline (DEADLINE_EXCEEDED or UNAVAILABLE), none hangs; after SIGCONT the load goes on and
  the same checks hold.

Exits 1 on any failure, naming the round, the seed and what was wrong."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Tests" / "e2e"))

import grpc  # noqa: E402

import mesevents  # noqa: E402
from conftest import Server, mesgate_binary, publish_stream, stubs  # noqa: E402
from odoo_harness import Emulator, gateway_args, mesgate, odoo_holds, outbox_states, plant_holds, reconcile  # noqa: E402

REFERENCE = REPO.parent / "shared" / "reference" / "epcis" / "capture" / "valid"
GENEALOGY_KINDS = ("received", "moved", "packed", "shipped")


@dataclass
class Profile:
    """How much load a round carries and how long each step may take."""

    stream_clients: int = 2
    stream_rate: float = 400.0  # events/s per stream client
    stream_batch: int = 400  # events per PublishStream call
    unary_clients: int = 1
    kill_after: tuple[float, float] = (0.4, 3.0)  # seconds of load before the SIGKILL
    call_timeout: float = 10.0  # deadline of every client call
    drain_timeout: float = 180.0
    round_timeout: float = 300.0
    stop_seconds: float = 30.0


QUICK = Profile(stream_rate=300.0, kill_after=(0.4, 1.5), drain_timeout=60.0, round_timeout=90.0,
                stop_seconds=12.0, call_timeout=5.0)


class Failure(Exception):
    pass


# --------------------------------------------------------------------------- what the plant does


class Plant:
    """Orders seeded in the emulator (one output lot each, components STEEL lots and BOLT), two
    work centers, lots for holds; makes events for them. Event ids and downtime start times are
    unique per campaign (`tag`)."""

    ORDERS = 6

    def __init__(self, tag: str):
        self.tag = tag
        self.orders = [f"WH/MO/CH{tag}-{i}" for i in range(self.ORDERS)]
        self.centers = [f"WC-{tag}-1", f"WC-{tag}-2"]
        self.hold_lots = [("HOLDP", f"HL-{tag}-{k}") for k in range(3)]
        self.t0 = int(time.time() * 1000)

    def seed(self, emu: Emulator) -> None:
        emu.seed(products=[{"default_code": "STEEL", "tracking": "lot"}, {"default_code": "BOLT", "tracking": "none"},
                           {"default_code": "BRACKET", "tracking": "lot"}, {"default_code": "HOLDP", "tracking": "lot"}],
                 workcenters=self.centers,
                 productions=[{"name": n, "product": "BRACKET", "qty": 1e9, "tracking": "lot",
                               "components": [{"product": "STEEL", "tracking": "lot"}, {"product": "BOLT"}]}
                              for n in self.orders])

    def setup_events(self):
        m, c = stubs().events_pb2, stubs().common_pb2
        return [m.Event(event_id=f"ch-{self.tag}-setup-{k}", occurred_at_ms=self.t0, tz_offset="+01:00", plant="P1",
                        received=m.MaterialReceived(lot=c.LotRef(product=p, lot=name), qty=c.Quantity(value=10, uom="kg"),
                                                    supplier="Acme"))
                for k, (p, name) in enumerate(self.hold_lots)]


class EventSource:
    """One client's events: ids `ch-<tag>-r<round>-<client>-<n>`, a seeded mix."""

    def __init__(self, plant: Plant, round_no: int, client: str, rng: random.Random, downtime_base: int):
        self.plant, self.round, self.client, self.rng = plant, round_no, client, rng
        self.n = 0
        self.open_stop: tuple[str, int] | None = None  # (work center, started_at) to close next
        self.downtime_base = downtime_base

    def next(self):
        m, c = stubs().events_pb2, stubs().common_pb2
        p, rng = self.plant, self.rng
        eid = f"ch-{p.tag}-r{self.round}-{self.client}-{self.n}"
        self.n += 1
        r = rng.random()
        if r < 0.14:
            e = mesevents.event(rng.choice(GENEALOGY_KINDS), event_id=eid, tag=f"{p.tag}-{self.round}-{self.client}-{self.n // 40}")
            e.work_order = ""
            return e
        oi = rng.randrange(len(p.orders))
        now = int(time.time() * 1000)
        e = m.Event(event_id=eid, occurred_at_ms=now, tz_offset="+01:00", plant="P1",
                    work_center=p.centers[oi % 2], operator_id=f"op-{self.client}", work_order=p.orders[oi])
        steel = c.LotRef(product="STEEL", lot=f"S-{p.tag}-{oi}-{rng.randrange(4)}")
        if r < 0.50:
            if rng.random() < 0.2:
                e.consumed.CopyFrom(m.MaterialConsumed(component=c.LotRef(product="BOLT"), qty=c.Quantity(value=4, uom="Units")))
            else:
                e.consumed.CopyFrom(m.MaterialConsumed(component=steel, qty=c.Quantity(value=0.5, uom="kg")))
        elif r < 0.85:
            e.produced.CopyFrom(m.ProductionReported(output=c.LotRef(product="BRACKET", lot=f"BR-{p.tag}-{oi}"),
                                                     good=c.Quantity(value=1, uom="Units")))
        elif r < 0.95:
            e.operation.CopyFrom(m.OperationReported(operation="cut", state=m.OperationReported.RESUMED))
        elif r < 0.97:
            e.scrapped.CopyFrom(m.Scrapped(lot=steel, qty=c.Quantity(value=0.1, uom="kg"), reason="offcut"))
        elif r < 0.985:
            e.quality.CopyFrom(m.QualityResult(lot=c.LotRef(product="BRACKET", lot=f"BR-{p.tag}-{oi}"), check="dim",
                                               outcome=m.QualityResult.PASS))
        else:
            # A stop is opened, and the next downtime event of this client closes it.
            e.work_order = ""
            if self.open_stop is None:
                start = p.t0 - 3_600_000 + self.downtime_base + self.n
                self.open_stop = (p.centers[oi % 2], start)
                e.work_center = p.centers[oi % 2]
                e.downtime.CopyFrom(m.DowntimeReported(reason="jam", loss=m.DowntimeReported.AVAILABILITY,
                                                       started_at_ms=start))
            else:
                center, start = self.open_stop
                self.open_stop = None
                e.work_center = center
                e.downtime.CopyFrom(m.DowntimeReported(reason="jam", loss=m.DowntimeReported.AVAILABILITY,
                                                       started_at_ms=start, ended_at_ms=start + 500))
        return e


def receipt_document(tag: str, round_no: int, n: int) -> bytes:
    """An EPCIS 2.0 capture document of three receipts of new lots (GS1 LGTINs)."""
    events = []
    for k in range(3):
        lot = f"C{tag}R{round_no}N{n}K{k}"
        events.append({
            "type": "ObjectEvent", "eventTime": "2026-07-22T06:45:00+02:00", "eventTimeZoneOffset": "+02:00",
            "action": "ADD", "bizStep": "receiving",
            "quantityList": [{"epcClass": f"urn:epc:class:lgtin:4012345.012345.{lot}", "quantity": 25, "uom": "KGM"}],
            "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
            "bizTransactionList": [{"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:4012345000009:PO-{lot}"}],
        })
    doc = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
           "schemaVersion": "2.0", "creationDate": "2026-07-22T06:00:00Z", "epcisBody": {"eventList": events}}
    return json.dumps(doc).encode()


# --------------------------------------------------------------------------- what the clients saw


@dataclass
class Sent:
    event: object
    round: int
    ack: tuple[int, int] | None = None  # (result, sequence) of the last Ack received


@dataclass
class HoldOp:
    place: bool
    lot: tuple[str, str]
    reason: str
    answered: bool = False
    code: str = ""


@dataclass
class Import:
    name: str
    data: bytes
    sha: str
    answered: bool = False
    result: object = None


@dataclass
class CallEnd:
    """One client call: how long it ran, how it ended, and its deadline."""

    client: str
    seconds: float
    code: str
    timeout: float


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    events: dict = field(default_factory=dict)  # event_id -> Sent
    holds: list = field(default_factory=list)
    imports: list = field(default_factory=list)
    calls: list = field(default_factory=list)
    problems: list = field(default_factory=list)  # acks that were wrong on first send

    def sent(self, e, round_no: int) -> None:
        with self.lock:
            self.events[e.event_id] = Sent(e, round_no)

    def acked(self, ack) -> None:
        Ack = stubs().events_pb2.Ack
        with self.lock:
            s = self.events.get(ack.event_id)
            if s is None:
                self.problems.append(f"an Ack for {ack.event_id}, which was never sent")
                return
            if ack.result not in (Ack.ACCEPTED, Ack.DUPLICATE):
                self.problems.append(f"{ack.event_id}: {Ack.Result.Name(ack.result)} {ack.field} {ack.reason}")
                return
            if ack.result == Ack.DUPLICATE and s.ack is None:
                self.problems.append(f"{ack.event_id}: DUPLICATE on its first send")
            s.ack = (ack.result, ack.sequence)

    def call(self, client: str, started: float, code: str, timeout: float) -> None:
        with self.lock:
            self.calls.append(CallEnd(client, time.monotonic() - started, code, timeout))


# --------------------------------------------------------------------------- clients


class Clients:
    """The load of one round (or of the SIGSTOP phase): threads, each with its own channel."""

    def __init__(self, server: Server, plant: Plant, ledger: Ledger, round_no: int, rng: random.Random,
                 profile: Profile, reference: list[tuple[str, bytes]], keep_going: bool = False):
        self.server, self.plant, self.ledger, self.round = server, plant, ledger, round_no
        self.profile = profile
        self.reference = reference
        self.keep_going = keep_going  # SIGSTOP phase: a failed call is followed by another
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        seeds = [rng.randrange(1 << 30) for _ in range(8)]
        for i in range(profile.stream_clients):
            self._spawn(self._streamer, f"s{i}", random.Random(seeds[i]), 100_000 * i)
        for i in range(profile.unary_clients):
            self._spawn(self._unary, f"u{i}", random.Random(seeds[4 + i]), 100_000 * (4 + i))
        self._spawn(self._holder, "h", random.Random(seeds[6]), 0)
        self._spawn(self._importer, "x", random.Random(seeds[7]), 0)

    def _spawn(self, fn, name, rng, base):
        t = threading.Thread(target=fn, args=(name, rng, base), name=f"chaos-{name}", daemon=True)
        self.threads.append(t)

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self, timeout: float) -> list[str]:
        """Stops the clients; returns the names of those still running after `timeout` (hung)."""
        self.stop.set()
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return [t.name for t in self.threads if t.is_alive()]

    def _source(self, name, rng, base):
        return EventSource(self.plant, self.round, name, rng, 1_000_000 * self.round + base)

    def _streamer(self, name, rng, base):
        src = self._source(name, rng, base)
        pb = stubs()
        period = 1.0 / self.profile.stream_rate
        while not self.stop.is_set():
            started = time.monotonic()

            def gen():
                for i in range(self.profile.stream_batch):
                    if self.stop.is_set():
                        return
                    due = started + i * period
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    e = src.next()
                    self.ledger.sent(e, self.round)
                    yield e

            err = publish_stream(self.server, pb, gen(), self.ledger.acked, timeout=self.profile.call_timeout)
            self.ledger.call(name, started, "OK" if err is None else err.code().name, self.profile.call_timeout)
            if err is not None and not self.keep_going:
                return
            if err is not None:
                time.sleep(0.2)

    def _unary(self, name, rng, base):
        src = self._source(name, rng, base)
        pb = stubs()
        with self.server.channel() as ch:
            stub = pb.events_pb2_grpc.EventIngestStub(ch)
            while not self.stop.is_set():
                e = src.next()
                self.ledger.sent(e, self.round)
                started = time.monotonic()
                try:
                    self.ledger.acked(stub.Publish(e, timeout=self.profile.call_timeout))
                    self.ledger.call(name, started, "OK", self.profile.call_timeout)
                except grpc.RpcError as err:
                    self.ledger.call(name, started, err.code().name, self.profile.call_timeout)
                    if not self.keep_going:
                        return
                    time.sleep(0.2)

    def _holder(self, name, rng, _base):
        pb = stubs()
        n = 0
        with self.server.channel() as ch:
            stub = pb.quality_pb2_grpc.QualityStub(ch)
            while not self.stop.is_set():
                product, lot = rng.choice(self.plant.hold_lots)
                place = rng.random() < 0.55
                op = HoldOp(place, (product, lot), f"chaos {self.plant.tag} r{self.round} h{n}")
                n += 1
                with self.ledger.lock:
                    self.ledger.holds.append(op)
                req = pb.quality_pb2.HoldRequest(lot=pb.common_pb2.LotRef(product=product, lot=lot), reason=op.reason,
                                                 propagate=False)
                started = time.monotonic()
                try:
                    (stub.PlaceHold if place else stub.ReleaseHold)(req, timeout=self.profile.call_timeout)
                    op.answered, op.code = True, "OK"
                except grpc.RpcError as err:
                    op.code = err.code().name
                    if err.code() == grpc.StatusCode.FAILED_PRECONDITION and not place:
                        op.answered = True  # no open hold on the lot: an answer
                    elif not self.keep_going:
                        self.ledger.call(name, started, op.code, self.profile.call_timeout)
                        return
                self.ledger.call(name, started, op.code, self.profile.call_timeout)
                self.stop.wait(rng.uniform(0.02, 0.1))

    def _importer(self, name, rng, _base):
        pb = stubs()
        n = 0
        with self.server.channel() as ch:
            stub = pb.events_pb2_grpc.EventIngestStub(ch)
            while not self.stop.is_set():
                if self.reference and rng.random() < 0.4:
                    doc_name, data = rng.choice(self.reference)
                else:
                    doc_name, data = f"receipts r{self.round} n{n}", receipt_document(self.plant.tag, self.round, n)
                n += 1
                imp = Import(doc_name, data, hashlib.sha256(data).hexdigest())
                with self.ledger.lock:
                    self.ledger.imports.append(imp)
                started = time.monotonic()
                try:
                    imp.result = stub.ImportEPCIS(pb.events_pb2.EPCISDocument(json=data), timeout=self.profile.call_timeout)
                    imp.answered = True
                    self.ledger.call(name, started, "OK", self.profile.call_timeout)
                except grpc.RpcError as err:
                    self.ledger.call(name, started, err.code().name, self.profile.call_timeout)
                    if not self.keep_going:
                        return
                self.stop.wait(rng.uniform(0.05, 0.2))


# --------------------------------------------------------------------------- checks


class Campaign:
    def __init__(self, args, profile: Profile):
        self.args = args
        self.profile = profile
        self.binary = Path(args.binary)
        self.rng = random.Random(args.seed)
        self.work = Path(tempfile.mkdtemp(prefix="mesgate-chaos-", dir=args.work))
        self.ledger = Ledger()
        self.tag = f"{args.seed}x{self.rng.randrange(1 << 20):05x}"
        self.plant = Plant(self.tag)
        self.expected_imports: dict[str, tuple[int, int]] = {}  # sha -> (mapped events, import rows)
        self.reference: list[tuple[str, bytes]] = []
        self.seen_holds: dict[str, int] = {}  # reason -> hold id, of holds seen in the store
        self.events_checked = 0
        self.postings_checked = 0
        self.tampered = False

    # ---- setup

    def setup(self) -> None:
        self.emu = Emulator(self.args.odoo_version, self.work / "logs")
        self.plant.seed(self.emu)
        self.server = Server(self.binary, self.work / "data", self.work / "logs",
                             extra_args=gateway_args(self.emu) + ["--log-level", self.args.log_level])
        self.server.start()
        pb = stubs()
        with self.server.channel() as ch:
            stub = pb.events_pb2_grpc.EventIngestStub(ch)
            for e in self.plant.setup_events():
                assert stub.Publish(e, timeout=10).result == pb.events_pb2.Ack.ACCEPTED
            # GS1's reference documents that mesgate takes; each is imported once here.
            if REFERENCE.is_dir() and not self.args.no_reference:
                for path in sorted(REFERENCE.glob("*.json")):
                    data = path.read_bytes()
                    try:
                        r = stub.ImportEPCIS(pb.events_pb2.EPCISDocument(json=data), timeout=30)
                    except grpc.RpcError:
                        continue
                    self.reference.append((path.name, data))
                    self.expected_imports[hashlib.sha256(data).hexdigest()] = r.stored + r.duplicates
        print(f"setup: emulator Odoo {self.args.odoo_version} at {self.emu.url}, data {self.server.data}, "
              f"{len(self.reference)} reference EPCIS documents from {REFERENCE}", flush=True)

    def teardown(self) -> None:
        if getattr(self, "server", None) is not None:
            self.server.stop()
        if getattr(self, "emu", None) is not None:
            self.emu.stop()

    # ---- one round

    def round(self, no: int) -> dict:
        ledger = self.ledger
        first_event = len(ledger.events)
        first_hold, first_import = len(ledger.holds), len(ledger.imports)
        clients = Clients(self.server, self.plant, ledger, no, self.rng, self.profile, self.reference)
        kill_at = self.rng.uniform(*self.profile.kill_after)
        clients.start()
        time.sleep(kill_at)
        self.server.kill()
        hung = clients.finish(self.profile.call_timeout + 10)
        if hung:
            raise Failure(f"clients still running {self.profile.call_timeout + 10}s after the SIGKILL: {hung}")
        acked_before = sum(1 for s in list(ledger.events.values())[first_event:] if s.ack is not None)
        if self.args.tamper in ("lose-event", "break-audit") and no == 1:
            self.tamper_store(list(ledger.events.values())[first_event:])
        self.server.start()
        return self.verify(no, first_event, first_hold, first_import, kill_at, acked_before)

    def verify(self, no, first_event, first_hold, first_import, moment, acked_before) -> dict:
        problems: list[str] = []
        ledger = self.ledger
        if ledger.problems:
            problems += ledger.problems
            ledger.problems = []
        round_events = list(ledger.events.values())[first_event:]
        stored = dict(self.server.query("SELECT event_id, sequence FROM events"))
        # Every acked event, of every round so far, is stored under its acked sequence.
        for eid, s in ledger.events.items():
            if s.ack is not None and stored.get(eid) != s.ack[1]:
                problems.append(f"{eid} (round {s.round}) acked with sequence {s.ack[1]}, stored "
                                f"{'nowhere' if eid not in stored else 'under ' + str(stored[eid])}")
        if len(set(stored.values())) != len(stored):
            problems.append("two events share a sequence")
        # Re-send the round's events: unacked ones first, then the acked ones.
        Ack = stubs().events_pb2.Ack
        unacked = [s for s in round_events if s.ack is None]
        acked = [s for s in round_events if s.ack is not None]
        expect = {s.event.event_id: s.ack for s in round_events}
        answers: dict[str, tuple[int, int]] = {}

        def on_resend(ack):
            answers[ack.event_id] = (ack.result, ack.sequence)

        err = publish_stream(self.server, stubs(), [s.event for s in unacked + acked], on_resend, timeout=300)
        if err is not None:
            problems.append(f"re-send stream failed: {err.code().name} {err.details()}")
        for s in unacked + acked:
            eid = s.event.event_id
            got = answers.get(eid)
            before = expect[eid]
            if got is None:
                problems.append(f"{eid}: no Ack for its re-send")
                continue
            name = Ack.Result.Name(got[0])
            if before is not None:
                if got != (Ack.DUPLICATE, before[1]):
                    problems.append(f"{eid}: acked {before[1]}, re-send {name} {got[1]}, expected DUPLICATE {before[1]}")
            elif eid in stored:
                if got != (Ack.DUPLICATE, stored[eid]):
                    problems.append(f"{eid}: unacked but stored under {stored[eid]}, re-send {name} {got[1]}")
            elif got[0] != Ack.ACCEPTED:
                problems.append(f"{eid}: unacked and not stored, re-send {name}, expected ACCEPTED")
            s.ack = got if got[0] in (Ack.ACCEPTED, Ack.DUPLICATE) else s.ack
        if not problems:
            stored = dict(self.server.query("SELECT event_id, sequence FROM events"))
            missing = [s.event.event_id for s in round_events if stored.get(s.event.event_id) != s.ack[1]]
            if missing:
                problems.append(f"{len(missing)} events not stored under their re-send's sequence, e.g. {missing[:3]}")
        self.events_checked += len(round_events)
        problems += self.check_holds(ledger.holds[first_hold:])
        imports_checked, import_problems = self.check_imports(ledger.imports[first_import:])
        problems += import_problems
        postings, odoo_problems = self.check_odoo()
        problems += odoo_problems
        self.postings_checked += postings
        audit = mesgate(self.binary, self.server, "audit", "verify")
        audit_line = (audit.stdout.strip() or audit.stderr.strip()).splitlines()[-1:] or ["(no output)"]
        if audit.returncode != 0:
            problems.append(f"audit verify exit {audit.returncode}: {audit.stdout} {audit.stderr}")
        return {"round": no, "moment": moment, "acked": acked_before, "events": len(round_events),
                "unacked": len(unacked), "holds": len(ledger.holds) - first_hold, "imports": imports_checked,
                "postings": postings, "audit": audit_line[0], "problems": problems}

    def tamper_store(self, sent: list[Sent]) -> None:
        """--tamper: what a defect would do, to see the checks catch it (the server is down)."""
        import sqlite3

        victim = next(s for s in sent if s.ack is not None)
        con = sqlite3.connect(self.server.db_path)
        with con:
            if self.args.tamper == "lose-event":
                con.execute("DELETE FROM events WHERE event_id = ?", (victim.event.event_id,))
            else:
                con.execute("UPDATE events SET raw = raw || x'00' WHERE event_id = ?", (victim.event.event_id,))
        con.close()
        print(f"    tampered ({self.args.tamper}): event {victim.event.event_id}", flush=True)

    def check_holds(self, ops: list[HoldOp]) -> list[str]:
        problems = []
        rows = self.server.query("SELECT id, reason, released_at_ms IS NOT NULL, release_reason FROM holds")
        by_reason = Counter(r for _, r, _, _ in rows)
        released_by = Counter(rr for _, _, rel, rr in rows if rel and rr)
        state = {r: (i, rel) for i, r, rel, _ in rows}
        for i, op in enumerate(ops):
            if op.place:
                n = by_reason.get(op.reason, 0)
                if op.answered and n != 1:
                    problems.append(f"hold '{op.reason}' answered OK, {n} in the store")
                elif n > 1:
                    problems.append(f"hold '{op.reason}' (unanswered) stored {n} times")
            elif op.answered and op.code == "OK":
                if released_by.get(op.reason, 0) < 1:
                    problems.append(f"release '{op.reason}' answered OK, no hold released with that reason")
                # Every placement answered before it on the same lot is released.
                for prior in ops[:i]:
                    if prior.place and prior.answered and prior.lot == op.lot and prior.reason in state \
                            and not state[prior.reason][1]:
                        problems.append(f"hold '{prior.reason}' still open after release '{op.reason}' was answered")
        return problems

    def check_imports(self, imports: list[Import]) -> tuple[int, list[str]]:
        """Re-imports every document of the round: the answered ones must store nothing, the others
        whole or nothing; each document is stored once."""
        problems = []
        pb = stubs()
        with self.server.channel() as ch:
            stub = pb.events_pb2_grpc.EventIngestStub(ch)
            for imp in imports:
                rows_before = self.server.scalar("SELECT count(*) FROM epcis_imports WHERE document_sha256 = ?", (imp.sha,))
                try:
                    again = stub.ImportEPCIS(pb.events_pb2.EPCISDocument(json=imp.data), timeout=60)
                except grpc.RpcError as err:
                    problems.append(f"re-import of {imp.name}: {err.code().name} {err.details()}")
                    continue
                total = again.stored + again.duplicates
                known = self.expected_imports.get(imp.sha)
                if imp.answered:
                    first = imp.result.stored + imp.result.duplicates
                    if known is not None and first != known:
                        problems.append(f"{imp.name}: {first} events, earlier {known}")
                    if again.stored != 0 or again.duplicates != first or again.import_id != 0:
                        problems.append(f"{imp.name} answered ({imp.result.stored} stored), re-import stored "
                                        f"{again.stored}, {again.duplicates} duplicates, import id {again.import_id}")
                    if rows_before != 1:
                        problems.append(f"{imp.name} answered, {rows_before} import rows")
                else:
                    if again.stored not in (0, total):
                        problems.append(f"{imp.name} unanswered: partly stored ({again.duplicates} of {total} before)")
                    if known is not None and total != known:
                        problems.append(f"{imp.name}: {total} events, earlier {known}")
                    if rows_before > 1 or (rows_before == 1) != (again.import_id == 0):
                        problems.append(f"{imp.name} unanswered: {rows_before} import rows before the re-import, "
                                        f"which got import id {again.import_id}")
                self.expected_imports.setdefault(imp.sha, total)
                rows_after = self.server.scalar("SELECT count(*) FROM epcis_imports WHERE document_sha256 = ?", (imp.sha,))
                if rows_after != 1:
                    problems.append(f"{imp.name}: {rows_after} import rows after the re-import")
        return len(imports), problems

    def drained(self) -> dict:
        deadline = time.monotonic() + self.profile.drain_timeout
        while True:
            states = outbox_states(self.server)
            if not states.get("pending") and not states.get("failed"):
                return states
            if time.monotonic() > deadline:
                raise Failure(f"outbox not drained after {self.profile.drain_timeout}s: {states}; "
                              f"{self.server.query('SELECT id, kind, document_key, last_error FROM outbox WHERE state IN (?, ?) LIMIT 5', ('pending', 'failed'))}")
            time.sleep(0.2)

    def check_odoo(self) -> tuple[int, list[str]]:
        """What Odoo holds against the store, once the outbox is drained; returns (postings checked, problems)."""
        problems = []
        self.drained()
        mine = f"ch-{self.tag}-"
        dead = [r for r in self.server.query(
            "SELECT o.id, o.kind, o.document_key, o.last_error, e.event_id FROM outbox o "
            "LEFT JOIN events e ON e.sequence = o.sequence WHERE o.state = 'dead'")
            if r[4] is None or r[4].startswith(mine) or self.plant.tag in r[2]]
        for row in dead:
            problems.append(f"outbox row {row[0]} ({row[1]} {row[2]}, event {row[4]}) dead: {row[3][:200]}")
        rec = reconcile(self.binary, self.server, self.emu, *self.plant.orders)
        if rec.returncode != 0 or f"{len(self.plant.orders)} order(s), 0 difference(s)" not in rec.stdout:
            problems.append(f"reconcile exit {rec.returncode}: {rec.stdout.strip()[-1500:]} {rec.stderr.strip()[-500:]}")
        if self.args.tamper == "lose-scrap" and not self.tampered:
            origins = [r["origin"] for r in self.emu.records("stock.scrap") if r.get("origin", "").startswith(f"MES:{mine}")]
            if origins:
                self.emu.unlink("stock.scrap", [["origin", "=", origins[0]]])
                self.tampered = True
                print(f"    tampered (lose-scrap): stock.scrap {origins[0]} unlinked in Odoo", flush=True)
        st = self.emu.state()
        # Scrap: one validated stock.scrap per scrap event, by origin; none the plant did not report.
        scrap_events = {eid for (eid,) in self.server.query(
            "SELECT event_id FROM events WHERE kind = 'scrapped' AND event_id LIKE ?", (mine + "%",))}
        origins = Counter(s.get("origin") for s in st["stock.scrap"].values())
        for eid in scrap_events:
            n = origins.get(f"MES:{eid}", 0)
            if n != 1:
                problems.append(f"scrap event {eid}: {n} stock.scrap in Odoo")
        done = {s.get("origin") for s in st["stock.scrap"].values() if s.get("state") == "done"}
        not_done = [f"MES:{e}" for e in scrap_events if f"MES:{e}" not in done]
        if not_done:
            problems.append(f"{len(not_done)} scraps not validated, e.g. {not_done[:3]}")
        extra = [o for o in origins if o and o.startswith(f"MES:{mine}") and o[4:] not in scrap_events]
        if extra:
            problems.append(f"{len(extra)} stock.scrap for no stored scrap event, e.g. {extra[:3]}")
        # Downtime: one productivity record per (work center, start), closed when the plant closed it.
        stops: dict[str, bool] = {}
        for center, raw in self.server.query(
                "SELECT work_center, raw FROM events WHERE kind = 'downtime' AND event_id LIKE ?", (mine + "%",)):
            e = stubs().events_pb2.Event.FromString(raw)
            marker = f"[MES:{center}@{e.downtime.started_at_ms}]"
            stops[marker] = stops.get(marker, False) or e.downtime.ended_at_ms > 0
        markers = Counter()
        closed = {}
        for rec_ in st["mrp.workcenter.productivity"].values():
            for m in re.findall(r"\[MES:[^\]]*@\d+\]", rec_.get("description") or ""):
                markers[m] += 1
                closed[m] = bool(rec_.get("date_end"))
        for marker, was_closed in stops.items():
            if markers.get(marker, 0) != 1:
                problems.append(f"downtime {marker}: {markers.get(marker, 0)} records in Odoo")
            elif closed[marker] != was_closed:
                problems.append(f"downtime {marker}: closed in the plant {was_closed}, in Odoo {closed[marker]}")
        extra = [m for m in markers if self.plant.tag in m and m not in stops]
        if extra:
            problems.append(f"{len(extra)} downtime records for no stored stop, e.g. {extra[:3]}")
        # Quality: one note per result.
        quality = {eid for (eid,) in self.server.query(
            "SELECT event_id FROM events WHERE kind = 'quality' AND event_id LIKE ?", (mine + "%",))}
        notes = Counter()
        for msg in st["mail.message"].values():
            for m in re.findall(r"\[MES:(ch-[^\]]+)\]", msg.get("body") or ""):
                notes[m] += 1
        for eid in quality:
            if notes.get(eid, 0) != 1:
                problems.append(f"quality result {eid}: {notes.get(eid, 0)} notes in Odoo")
        extra = [m for m in notes if m.startswith(mine) and m not in quality]
        if extra:
            problems.append(f"{len(extra)} quality notes for no stored result, e.g. {extra[:3]}")
        # Holds: an activity per item of an open hold, a done message per item of a released one.
        plant_open, plant_released = plant_holds(self.server)
        activities, done_msgs = odoo_holds(self.emu)
        for what, plant, odoo in (("open", plant_open, activities), ("released", plant_released, done_msgs)):
            dup = [k for k, n in Counter(odoo).items() if n > 1]
            if dup:
                problems.append(f"{what} holds posted twice: {dup[:3]}")
            if set(odoo) != plant:
                problems.append(f"{what} holds: plant only {sorted(plant - set(odoo))[:3]}, "
                                f"Odoo only {sorted(set(odoo) - plant)[:3]}")
        postings = (len(self.plant.orders) + len(scrap_events) + len(stops) + len(quality)
                    + len(plant_open) + len(plant_released))
        return postings, problems

    # ---- SIGSTOP

    def stop_phase(self, no: int) -> dict:
        ledger = self.ledger
        first_event, first_hold, first_import = len(ledger.events), len(ledger.holds), len(ledger.imports)
        first_call = len(ledger.calls)
        clients = Clients(self.server, self.plant, ledger, no, self.rng, self.profile, self.reference, keep_going=True)
        clients.start()
        time.sleep(self.rng.uniform(0.5, 1.5))
        os.kill(self.server.pid, signal.SIGSTOP)
        stopped_at = time.monotonic()
        try:
            time.sleep(self.profile.stop_seconds)
        finally:
            os.kill(self.server.pid, signal.SIGCONT)
        resumed_at = time.monotonic()
        time.sleep(3.0)
        hung = clients.finish(self.profile.call_timeout + 10)
        problems = []
        if hung:
            problems.append(f"clients still running after SIGCONT and {self.profile.call_timeout + 10}s: {hung}")
        calls = ledger.calls[first_call:]
        slow = [c for c in calls if c.seconds > c.timeout + 2.0]
        if slow:
            problems.append(f"{len(slow)} calls ran past their deadline: "
                            + ", ".join(f"{c.client} {c.code} after {c.seconds:.1f}s (deadline {c.timeout}s)" for c in slow[:5]))
        codes = Counter(c.code for c in calls)
        bad = {k: n for k, n in codes.items() if k not in ("OK", "DEADLINE_EXCEEDED", "UNAVAILABLE", "FAILED_PRECONDITION")}
        if bad:
            problems.append(f"calls ended otherwise than OK, DEADLINE_EXCEEDED or UNAVAILABLE: {bad}")
        if not codes.get("DEADLINE_EXCEEDED", 0) + codes.get("UNAVAILABLE", 0):
            problems.append("no client saw a deadline while the server was stopped")
        acked_after = sum(1 for s in list(ledger.events.values())[first_event:] if s.ack is not None)
        if not self.server.alive():
            problems.append("the server died after SIGCONT")
            self.server.start()
        result = self.verify(no, first_event, first_hold, first_import, resumed_at - stopped_at, acked_after)
        result["problems"] = problems + result["problems"]
        result["codes"] = dict(codes)
        result["longest_call"] = max((c.seconds for c in calls), default=0.0)
        return result


# --------------------------------------------------------------------------- main


def main() -> int:
    p = argparse.ArgumentParser(prog="bench/chaos/run", description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=50)
    p.add_argument("--seed", type=int, default=None, help="default: from the clock (printed)")
    p.add_argument("--binary", default=None, help="mesgate binary (default: the debug build)")
    p.add_argument("--quick", action="store_true", help="a lighter load and a shorter SIGSTOP (scripts/test)")
    p.add_argument("--stop-seconds", type=float, default=None, help="SIGSTOP length (30; --quick 12); 0 skips it")
    p.add_argument("--odoo-version", type=int, choices=(17, 18, 19), default=19)
    p.add_argument("--no-reference", action="store_true", help="skip GS1's reference EPCIS documents")
    p.add_argument("--work", default=None, help="parent folder of the campaign's data and logs (default: /tmp)")
    p.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    p.add_argument("--tamper", choices=("lose-event", "break-audit", "lose-scrap"), default=None,
                   help="check the checks: delete an acked event or change its bytes before round 1's restart, "
                        "or delete a scrap in Odoo; the campaign must then fail")
    p.add_argument("--log-level", default="warning", help="mesgate's --log-level (its stderr is in the work folder's logs)")
    args = p.parse_args()
    if args.seed is None:
        args.seed = int(time.time()) % 100_000
    args.binary = str(args.binary or mesgate_binary())
    profile = QUICK if args.quick else Profile()
    if args.stop_seconds is not None:
        profile.stop_seconds = args.stop_seconds
    campaign = Campaign(args, profile)
    print(f"crash campaign: {args.rounds} rounds, seed {args.seed}, binary {args.binary}, "
          f"{'quick' if args.quick else 'full'} profile, work {campaign.work}", flush=True)
    started = time.monotonic()
    passed = run = 0
    failures: list[str] = []
    watchdog = threading.Timer(profile.round_timeout * (args.rounds + 3) + 120, lambda: (
        print(f"crash campaign: over its time bound, seed {args.seed}: aborting", flush=True), os._exit(3)))
    watchdog.daemon = True
    watchdog.start()
    try:
        campaign.setup()
        phases = [("round", n) for n in range(1, args.rounds + 1)]
        if profile.stop_seconds > 0:
            phases.append(("sigstop", args.rounds + 1))
        for kind, n in phases:
            run += 1
            t = time.monotonic()
            try:
                r = campaign.round(n) if kind == "round" else campaign.stop_phase(n)
            except (Failure, AssertionError) as e:
                r = {"round": n, "problems": [str(e)]}
            took = time.monotonic() - t
            if took > profile.round_timeout:
                r["problems"].append(f"took {took:.0f}s, over the bound of {profile.round_timeout:.0f}s")
            label = f"round {n:>2}" if kind == "round" else f"SIGSTOP {profile.stop_seconds:.0f}s"
            if "acked" in r:
                what = (f"kill at {r['moment']:.2f}s" if kind == "round"
                        else f"stopped {r['moment']:.1f}s, calls {r['codes']}, longest {r['longest_call']:.1f}s")
                print(f"{label}: {what}; acked {r['acked']}, events checked {r['events']} ({r['unacked']} unacked re-sent), "
                      f"holds {r['holds']}, EPCIS documents {r['imports']}, Odoo postings checked {r['postings']}; "
                      f"audit: {r['audit']}; {took:.1f}s; {'ok' if not r['problems'] else 'FAILED'}", flush=True)
            else:
                print(f"{label}: FAILED ({took:.1f}s)", flush=True)
            for problem in r["problems"][:20]:
                print(f"    {problem}", flush=True)
            if r["problems"]:
                failures.append(f"{label} (seed {args.seed}): {r['problems'][0]}")
                if not campaign.server.alive():
                    try:
                        campaign.server.start()
                    except Exception as e:  # the campaign cannot go on without a server
                        failures.append(f"server does not start again: {e}")
                        break
            else:
                passed += 1
    finally:
        campaign.teardown()
        if not args.keep and not failures:
            import shutil

            shutil.rmtree(campaign.work, ignore_errors=True)
    total = time.monotonic() - started
    print(f"crash campaign: {passed}/{run} rounds passed, {campaign.events_checked} events checked, "
          f"{campaign.postings_checked} Odoo postings checked, seed {args.seed}, {total:.0f}s"
          + ("" if not failures else f"; data kept in {campaign.work}"), flush=True)
    for f in failures:
        print(f"FAILED: {f}", flush=True)
    return 0 if not failures and passed == run else 1


if __name__ == "__main__":
    sys.exit(main())
