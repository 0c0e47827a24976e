"""Genealogy.Trace and LotHistory against an independent oracle.

A generated plant (bench/plantgen: multi-level BoMs, order-level and serial-level consumption,
splits, pallets packed/unpacked and shipped, rework cycles) is published through PublishStream;
every trace is compared with a plain BFS over the generated event list, written here from the
model's rules (genealogy/MODEL.md), not from the server's code."""

from __future__ import annotations

import collections
import random
import sys
from pathlib import Path

import grpc
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "plantgen"))
import plantgen  # noqa: E402

SEEDS = [11, 23]
EVENTS = 4000


# --------------------------------------------------------------------------- the oracle


def key(r: dict):
    """A node's identity from a LotRef dict: what the store's unique indexes say."""
    if r["container"]:
        return ("container", r["container"])
    if r["serial"]:
        return ("serial", r["product"], r["serial"])
    return ("lot", r["product"], r["lot"])


def tracked(r: dict) -> bool:
    return bool(r["container"] or (r["product"] and (r["lot"] or r["serial"])))


class Oracle:
    """The genealogy graph rebuilt from the event list. Sequence = position in the list (events are
    published in order on one stream, so the store's sequences keep that order)."""

    def __init__(self, events: list[dict]):
        self.out = collections.defaultdict(list)  # node -> [(to, kind, seq, ended_ref)]
        self.inc = collections.defaultdict(list)  # node -> [(from, kind, seq, ended_ref)]
        self.edges = []  # [from, to, kind, seq, ended]
        self.order_output = {}
        self.open_containment = {}
        self.receipts = collections.defaultdict(list)
        self.shipments = collections.defaultdict(list)
        self.nodes = set()
        for seq, e in enumerate(events, 1):
            self.add(seq, e)

    def edge(self, a, b, kind, seq):
        ed = [a, b, kind, seq, None]
        self.edges.append(ed)
        self.out[a].append(ed)
        self.inc[b].append(ed)
        return ed

    def add(self, seq, e):
        k, wo = e["kind"], e["wo"]
        order = ("order", wo) if wo else None
        for f in ("lot", "component", "into", "output", "new_lot", "container"):
            if isinstance(e.get(f), dict) and tracked(e[f]):
                self.nodes.add(key(e[f]))
        if k == "received":
            self.receipts[key(e["lot"])].append((e["supplier"], e["supplier_lot"], e["purchase_order"], e["qty"][0]))
        elif k == "consumed":
            c = e["component"]
            if not tracked(c):
                return
            into = e.get("into")
            if into and tracked(into):
                self.edge(key(c), key(into), "direct", seq)
                if order and (order, key(into)) not in self.order_output:
                    self.order_output[(order, key(into))] = self.edge(order, key(into), "order_output", seq)
            elif order:
                self.edge(key(c), order, "order_input", seq)
        elif k == "produced":
            if order and (order, key(e["output"])) not in self.order_output:
                self.order_output[(order, key(e["output"]))] = self.edge(order, key(e["output"]), "order_output", seq)
        elif k == "moved":
            if e.get("new_lot"):
                self.edge(key(e["lot"]), key(e["new_lot"]), "split", seq)
        elif k == "packed":
            box = key(e["container"])
            for item in e["contents"]:
                pair = (key(item), box)
                if e["action"] == "ADD":
                    if pair not in self.open_containment:
                        self.open_containment[pair] = self.edge(pair[0], box, "containment", seq)
                elif pair in self.open_containment:
                    self.open_containment.pop(pair)[4] = seq
        elif k == "shipped":
            self.shipments[key(e["lot"])].append((e["customer"], e["delivery"], e["qty"][0], seq))

    def trace(self, start, forward: bool, max_depth: int = 0):
        """Plain BFS: {node: depth}, the edges walked (from nodes below max_depth), receipts or
        shipments, truncated."""
        depth = {start: 0}
        queue = collections.deque([start])
        walked = []
        truncated = False
        while queue:
            n = queue.popleft()
            for ed in (self.out if forward else self.inc)[n]:
                other = ed[1] if forward else ed[0]
                if max_depth and depth[n] >= max_depth:
                    if other not in depth:
                        truncated = True
                    continue
                if other not in depth:
                    depth[other] = depth[n] + 1
                    queue.append(other)
                walked.append(ed)
        extra = collections.Counter()
        if forward:
            into = collections.defaultdict(list)
            for ed in walked:
                if ed[2] == "containment":
                    into[ed[1]].append(ed)
            for n in depth:
                if n[0] == "order":
                    continue
                windows = into[n]
                for customer, delivery, q, seq in self.shipments[n]:
                    if n[0] == "container" and n != start and not any(
                        ed[3] < seq and (ed[4] is None or ed[4] > seq) for ed in windows
                    ):
                        continue
                    extra[(n, customer, delivery, q)] += 1
        else:
            for n in depth:
                for r in self.receipts[n]:
                    extra[(n, *r)] += 1
        return depth, collections.Counter((ed[0], ed[1]) for ed in walked), extra, truncated


# --------------------------------------------------------------------------- helpers


def pb_key(lot, work_order: str):
    if work_order and not (lot.product or lot.lot or lot.serial or lot.container):
        return ("order", work_order)
    return key({"product": lot.product, "lot": lot.lot, "serial": lot.serial, "container": lot.container})


def node_ref(pb, n):
    if n[0] == "container":
        return pb.common_pb2.LotRef(container=n[1])
    if n[0] == "serial":
        return pb.common_pb2.LotRef(product=n[1], serial=n[2])
    return pb.common_pb2.LotRef(product=n[1], lot=n[2])


def server_trace(pb, stub, n, forward: bool, max_depth=0, max_nodes=0):
    g = pb.genealogy_pb2
    r = stub.Trace(
        g.TraceRequest(lot=node_ref(pb, n), direction=pb.common_pb2.FORWARD if forward else pb.common_pb2.BACKWARD,
                       max_depth=max_depth, max_nodes=max_nodes),
        timeout=30)
    depth = {pb_key(x.lot, x.work_order): x.depth for x in r.nodes}
    edges = collections.Counter((pb_key(e.__getattribute__("from").lot, e.__getattribute__("from").work_order),
                                 pb_key(e.to.lot, e.to.work_order)) for e in r.edges)
    if forward:
        extra = collections.Counter((key({"product": s.lot.product, "lot": s.lot.lot, "serial": s.lot.serial,
                                          "container": s.lot.container}), s.customer, s.delivery, s.qty.value)
                                    for s in r.shipments)
    else:
        extra = collections.Counter((key({"product": s.lot.product, "lot": s.lot.lot, "serial": s.lot.serial,
                                          "container": s.lot.container}), s.supplier, s.supplier_lot,
                                     s.purchase_order, s.qty.value) for s in r.receipts)
    return depth, edges, extra, r.truncated, r


def publish(pb, server, events):
    m, c = pb.events_pb2, pb.common_pb2
    with server.channel() as ch:
        acks = list(pb.events_pb2_grpc.EventIngestStub(ch).PublishStream(
            iter([plantgen.to_pb(e, m, c) for e in events]), timeout=120))
    bad = [a for a in acks if a.result != m.Ack.ACCEPTED]
    assert len(acks) == len(events) and not bad, bad[:3]


@pytest.fixture(scope="module", params=SEEDS)
def plant(request, pb, server_factory_module):
    events = plantgen.generate(request.param, EVENTS, rework_every=15)
    server = server_factory_module()
    publish(pb, server, events)
    return server, events, Oracle(events)


@pytest.fixture(scope="module")
def server_factory_module(binary, tmp_path_factory):
    from conftest import _start_module_server
    made = []

    def make():
        s = _start_module_server(binary, tmp_path_factory, f"trace{len(made)}", ["--sync", "off"])
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


def starts(oracle: Oracle, seed: int):
    """Start nodes of every kind: raw lots, intermediates, finished lots and serials, pallets,
    split lots, reworked lots (cycles)."""
    rng = random.Random(seed)
    nodes = sorted(n for n in oracle.nodes)
    by = collections.defaultdict(list)
    for n in nodes:
        if n[0] == "lot":
            by["raw" if n[1].startswith("L0-") else ("split" if n[2].endswith("-S") else "lot")].append(n)
        else:
            by[n[0]].append(n)
    rework = sorted({ed[0] for ed in oracle.edges if ed[2] == "order_input" and ed[1][1].startswith("RW/")})
    picked = []
    for kind in ("raw", "lot", "serial", "container", "split"):
        picked += rng.sample(by[kind], min(6, len(by[kind])))
    picked += rework[:4]
    assert rework, "the plant must contain a rework cycle"
    assert by["container"] and by["serial"] and by["split"]
    return picked


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("forward", [False, True], ids=["backward", "forward"])
def test_trace_matches_oracle(pb, plant, forward):
    server, events, oracle = plant
    checked = 0
    with server.channel() as ch:
        stub = pb.genealogy_pb2_grpc.GenealogyStub(ch)
        for n in starts(oracle, len(events)):
            want = oracle.trace(n, forward)
            got = server_trace(pb, stub, n, forward)
            assert got[0] == want[0], f"nodes of {n}"
            assert got[1] == want[1], f"edges of {n}"
            assert got[2] == want[2], f"{'shipments' if forward else 'receipts'} of {n}"
            assert got[3] is False
            checked += 1
    assert checked >= 20


def test_trace_depth_limit_matches_oracle(pb, plant):
    server, events, oracle = plant
    with server.channel() as ch:
        stub = pb.genealogy_pb2_grpc.GenealogyStub(ch)
        for n in starts(oracle, 3)[:12]:
            for forward in (False, True):
                for max_depth in (1, 2, 3):
                    want = oracle.trace(n, forward, max_depth)
                    got = server_trace(pb, stub, n, forward, max_depth=max_depth)
                    assert got[0] == want[0] and got[1] == want[1], (n, forward, max_depth)
                    assert got[3] == want[3], (n, forward, max_depth)


def test_trace_node_limit_truncates(pb, plant):
    server, events, oracle = plant
    raw = next(n for n in sorted(oracle.nodes) if n[0] == "lot" and n[1].startswith("L0-")
               and len(oracle.trace(n, True)[0]) > 10)
    full = oracle.trace(raw, True)[0]
    with server.channel() as ch:
        depth, _, _, truncated, _ = server_trace(pb, pb.genealogy_pb2_grpc.GenealogyStub(ch), raw, True, max_nodes=10)
    assert truncated and len(depth) == 10
    assert all(full[n] == d for n, d in depth.items())  # BFS order: the nearest nodes, at their true depth


def test_unknown_lot_is_not_found(pb, server):
    g = pb.genealogy_pb2
    with server.channel() as ch:
        stub = pb.genealogy_pb2_grpc.GenealogyStub(ch)
        for call, req in ((stub.Trace, g.TraceRequest(lot=pb.common_pb2.LotRef(product="NOPE", lot="X"),
                                                        direction=pb.common_pb2.FORWARD)),
                          (lambda r, timeout: list(stub.LotHistory(r, timeout=timeout)),
                           pb.common_pb2.LotRef(product="NOPE", lot="X"))):
            with pytest.raises(grpc.RpcError) as e:
                call(req, timeout=10)
            assert e.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as e:
            stub.Trace(g.TraceRequest(lot=pb.common_pb2.LotRef(product="NOPE", lot="X")), timeout=10)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_lot_history_lists_every_event_in_order(pb, plant):
    server, events, oracle = plant
    m = pb.events_pb2
    lot = next(n for n in sorted(oracle.nodes) if n[0] == "lot" and n[1].startswith("L1-"))
    want = []
    for e in events:
        refs = [e.get(f) for f in ("lot", "component", "into", "output", "new_lot", "container")] + e.get("contents", [])
        if any(isinstance(r, dict) and tracked(r) and key(r) == lot for r in refs):
            want.append(e["event_id"])
    with server.channel() as ch:
        got = list(pb.genealogy_pb2_grpc.GenealogyStub(ch).LotHistory(node_ref(pb, lot), timeout=10))
    assert [h.event.event_id for h in got] == want
    assert [h.sequence for h in got] == sorted(h.sequence for h in got)
    assert all(h.recorded_at_ms > 0 and h.client for h in got)
    first = next(e for e in events if e["event_id"] == want[0])
    assert got[0].event == plantgen.to_pb(first, m, pb.common_pb2)


def test_plants_are_named_once_the_store_serves_a_plant(pb, server_factory):
    """genealogy/MODEL.md, "Many plants": a store that names no plant traces with plant "" and lists
    history entries under each event's own plant; once it serves a plant (store_identity.plant, set
    by `serve --plant`), every node, edge, shipment and history entry names that plant."""
    import sqlite3

    events = plantgen.generate(5, 400, rework_every=15)
    server = server_factory()
    publish(pb, server, events)
    oracle = Oracle(events)
    start = max((n for n in oracle.nodes if n[0] == "lot" and n[1].startswith("L0-")),
                key=lambda n: len(oracle.out[n]))
    lot = node_ref(pb, start)

    def read():
        with server.channel() as ch:
            stub = pb.genealogy_pb2_grpc.GenealogyStub(ch)
            *_, result = server_trace(pb, stub, start, forward=True)
            history = list(stub.LotHistory(lot, timeout=10))
        return result, history

    result, history = read()
    assert len(result.nodes) > 1 and result.edges and history
    assert {n.plant for n in result.nodes} | {e.plant for e in result.edges} | {s.plant for s in result.shipments} == {""}
    assert {h.plant for h in history} == {h.event.plant for h in history} == {"PLANT-G"}

    con = sqlite3.connect(server.db_path, timeout=10)
    try:
        with con:
            con.execute("UPDATE store_identity SET plant = 'PLANT-E2E' WHERE id = 1")
    finally:
        con.close()
    result, history = read()
    named = [n.plant for n in result.nodes] + [e.plant for e in result.edges] + [s.plant for s in result.shipments]
    assert set(named) == {"PLANT-E2E"}
    assert {h.plant for h in history} == {"PLANT-E2E"}
