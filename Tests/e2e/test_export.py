"""Genealogy.Export end to end: a small plant published through grpcio PublishStream, exported
through grpcio in every format. EPCIS 2.0 JSON-LD is validated against GS1's JSON schema
(jsonschema Draft7Validator) with stable CBV 2.0 hash ids; the FSMA 204 CSV is read with `csv`;
the HTML report is rendered in headless Chromium; `mesgate export` gives the same documents from
the store (--data) and from the server (--server --token)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import grpc
import pytest

from conftest import RPC_TIMEOUT_S, Server, ServerStartError, status_code, token_line
from mesevents import lot, new_event_id, now_ms, pb as events_pb, qty

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "epcis"
SCHEMA = REFERENCE / "EPCIS-JSON-Schema.json"
CONTEXT = REFERENCE / "epcis-context.jsonld"
GTIN = "4006381333931"
SSCC = "003401234500000017"
HASH_ID = re.compile(r"^ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.0$")



def bearer(token: str):
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture(scope="module")
def plant(binary, tmp_path_factory, pb):
    """A server with tokens and a small plant: steel (own product code) and a GTIN lot go into
    order MO-E1, which makes bracket lot B1; B1 is packed on an SSCC pallet that ships; B1 fails a
    check; the steel lot is held; 300 more lots are consumed into MO-E2 (a document of several chunks)."""
    base = tmp_path_factory.mktemp("export")
    tokens = base / "tokens"
    tokens.write_text("".join(token_line(f"{r}-client", r, f"{r}-token") for r in ("mes", "quality", "auditor", "admin")))
    srv = Server(binary, base / "data", base / "logs", extra_args=["--tokens", str(tokens)])
    try:
        srv.start()
    except ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    m = events_pb()
    t = new_event_id("x")[-8:]
    steel, gtin_lot, bracket = lot("STEEL", f"S-{t}"), lot(GTIN, f"G-{t}"), lot("BRACKET", f"B-{t}")
    pallet = lot(container=SSCC)
    ts = now_ms() - 3_600_000

    def ev(kind_id, minute, wo="", **body):
        e = m.Event(event_id=f"{kind_id}-{t}", occurred_at_ms=ts + minute * 60_000, tz_offset="+02:00", plant="PLANT-1",
                    work_center="WC-CUT", operator_id="op-17", work_order=wo)
        for k, v in body.items():
            getattr(e, k).CopyFrom(v)
        return e

    events = [
        ev("rcv-steel", 0, received=m.MaterialReceived(lot=steel, qty=qty(100.0), supplier="Acme <Steel> & Co",
                                                       supplier_lot="AS-1", purchase_order="P00042", location="WH/Stock")),
        ev("rcv-gtin", 1, received=m.MaterialReceived(lot=gtin_lot, qty=qty(5.0), supplier="Globex",
                                                      supplier_lot="GX-9", purchase_order="P00043", location="WH/Stock")),
        ev("con-steel", 10, "MO-E1", consumed=m.MaterialConsumed(component=steel, qty=qty(12.5))),
        ev("con-gtin", 11, "MO-E1", consumed=m.MaterialConsumed(component=gtin_lot, qty=qty(2.0))),
        ev("prd-bracket", 20, "MO-E1", produced=m.ProductionReported(output=bracket, good=qty(10, "Units"),
                                                                      scrap=qty(1, "Units"), location="WH/Stock")),
        ev("pck-pallet", 30, packed=m.Packed(container=pallet, contents=[bracket], action=m.Packed.ADD)),
        ev("shp-pallet", 40, shipped=m.Shipped(lot=pallet, qty=qty(1, "Units"), customer="Customer, \"A\"",
                                               delivery="WH/OUT/7", destination="DE-Berlin")),
        ev("qc-bracket", 50, quality=m.QualityResult(lot=bracket, check="hardness", outcome=m.QualityResult.FAIL)),
    ]
    bulk = lot("RESIN", f"R-{t}")
    events.append(ev("rcv-resin", 60, received=m.MaterialReceived(lot=bulk, qty=qty(1000.0), supplier="Resin Inc",
                                                                  purchase_order="P00050")))
    for i in range(300):
        out = lot("CAP", f"C-{t}-{i}")
        events.append(ev(f"con-resin-{i}", 61, f"MO-E2-{i}", consumed=m.MaterialConsumed(component=bulk, qty=qty(1.5))))
        events.append(ev(f"prd-cap-{i}", 62, f"MO-E2-{i}", produced=m.ProductionReported(output=out, good=qty(100, "Units"))))
    with srv.channel() as ch:
        acks = list(pb.events_pb2_grpc.EventIngestStub(ch).PublishStream(iter(events), metadata=bearer("mes-token"),
                                                                          timeout=120))
    assert [a.result for a in acks] == [m.Ack.ACCEPTED] * len(events), [a for a in acks if a.result != m.Ack.ACCEPTED][:2]
    with srv.channel() as ch:
        pb.quality_pb2_grpc.QualityStub(ch).PlaceHold(pb.quality_pb2.HoldRequest(lot=steel, reason="supplier recall"),
                                                      metadata=bearer("quality-token"), timeout=RPC_TIMEOUT_S)
    yield {"server": srv, "steel": steel, "bracket": bracket, "bulk": bulk, "t": t, "events": events}
    srv.stop()


FORMATS = {"epcis": 1, "fsma204": 2, "dot": 3, "html": 4}


def export_chunks(pb, srv, ref, fmt, direction=0, token="auditor-token"):
    req = pb.genealogy_pb2.ExportRequest(lot=ref, direction=direction, format=FORMATS[fmt])
    with srv.channel() as ch:
        return [c.data for c in pb.genealogy_pb2_grpc.GenealogyStub(ch).Export(req, metadata=bearer(token), timeout=60)]


def export(pb, srv, ref, fmt, direction=0, token="auditor-token") -> bytes:
    return b"".join(export_chunks(pb, srv, ref, fmt, direction, token))


# --------------------------------------------------------------------------- EPCIS


def test_epcis_document_is_valid_against_the_gs1_schema(pb, plant):
    import jsonschema

    doc = json.loads(export(pb, plant["server"], plant["bracket"], "epcis"))
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    assert doc["@context"][0] == "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
    events = doc["epcisBody"]["eventList"]
    steps = [(e["type"], e.get("bizStep")) for e in events]
    assert steps[:8] == [("ObjectEvent", "receiving"), ("ObjectEvent", "receiving"), ("TransformationEvent", None),
                         ("TransformationEvent", None), ("TransformationEvent", "commissioning"),
                         ("AggregationEvent", "packing"), ("ObjectEvent", "shipping"), ("ObjectEvent", "inspecting")]
    assert steps[-1] == ("ObjectEvent", "holding") and events[-1]["disposition"] == "non_sellable_other"
    gtin_receipt = events[1]["quantityList"][0]
    assert gtin_receipt["epcClass"] == f"https://id.gs1.org/01/0{GTIN}/10/G-{plant['t']}"
    assert gtin_receipt["uom"] == "KGM"
    assert events[5]["parentID"] == f"https://id.gs1.org/00/{SSCC}"
    assert events[0]["sourceList"][0]["source"] == "urn:mesgate:party:Acme%20%3CSteel%3E%20%26%20Co"


def test_epcis_terms_resolve_in_the_local_context(pb, plant):
    """Every member name is a term of the EPCIS 2.0 context (read from the local copy, never fetched)
    or a prefixed name whose prefix the document's own context defines."""
    terms = set(json.loads(CONTEXT.read_text())["@context"])
    doc = json.loads(export(pb, plant["server"], plant["bracket"], "epcis"))
    prefixes = {k for c in doc["@context"] if isinstance(c, dict) for k in c}
    names = set(doc) | {k for e in doc["epcisBody"]["eventList"] for k in e}
    unknown = {n for n in names if n not in terms and n.split(":")[0] not in prefixes}
    assert not unknown - {"@context"}, unknown


def test_epcis_hash_ids_are_present_and_stable(pb, plant):
    first = json.loads(export(pb, plant["server"], plant["steel"], "epcis"))["epcisBody"]["eventList"]
    second = json.loads(export(pb, plant["server"], plant["steel"], "epcis"))["epcisBody"]["eventList"]
    ids = [e["eventID"] for e in first]
    assert all(HASH_ID.match(i) for i in ids), ids[:3]
    assert len(set(ids)) == len(ids)
    assert ids == [e["eventID"] for e in second]


def test_a_big_export_comes_in_chunks_of_at_most_64_kib(pb, plant):
    chunks = export_chunks(pb, plant["server"], plant["bulk"], "epcis", direction=pb.common_pb2.FORWARD)
    assert len(chunks) > 1 and all(0 < len(c) <= 64 * 1024 for c in chunks), [len(c) for c in chunks]
    events = json.loads(b"".join(chunks))["epcisBody"]["eventList"]
    assert sum(1 for e in events if e["type"] == "TransformationEvent") == 600


# --------------------------------------------------------------------------- FSMA 204


def test_fsma204_csv_has_the_key_data_elements(pb, plant):
    data = export(pb, plant["server"], plant["steel"], "fsma204").decode()
    assert "\r\n" in data
    rows = list(csv.DictReader(io.StringIO(data, newline="")))
    assert {"Traceability Lot Code", "Quantity", "Unit of Measure", "Product Description", "Location of Event",
            "Immediate Previous Source", "Immediate Subsequent Recipient", "Traceability Lot Code Source",
            "Reference Document Type", "Reference Document Number", "Event Date"} <= set(rows[0])
    t = plant["t"]
    transformation = [r for r in rows if r["Critical Tracking Event"] == "Transformation"]
    assert [r["Input Traceability Lot Code"] for r in transformation] == [f"S-{t}", f"G-{t}"]
    assert {r["Event ID"] for r in transformation} == {f"prd-bracket-{t}"}
    receiving = [r for r in rows if r["Critical Tracking Event"] == "Receiving"]
    assert receiving[0]["Immediate Previous Source"] == "Acme <Steel> & Co"
    assert receiving[0]["Reference Document Number"] == "P00042" and receiving[0]["Unit of Measure"] == "kg"
    shipping = [r for r in rows if r["Critical Tracking Event"] == "Shipping"]
    assert [(r["Traceability Lot Code"], r["Immediate Subsequent Recipient"]) for r in shipping] == [
        (f"B-{t}", 'Customer, "A"')]


# --------------------------------------------------------------------------- HTML and DOT


def test_html_report_renders_in_chromium(pb, plant, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed (apt-get install chromium)", pytrace=False)
    page = tmp_path / "report.html"
    page.write_bytes(export(pb, plant["server"], plant["steel"], "html"))
    shot = tmp_path / "report.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'p'}"]
    r = subprocess.run([chromium, *flags, f"--screenshot={shot}", "--window-size=1400,1800", page.as_uri()],
                       capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 20_000, r.stderr.decode()[-2000:]
    dom = subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True, timeout=120,
                         text=True).stdout
    t = plant["t"]
    assert f"Lot report: STEEL lot S-{t}" in dom
    for e in plant["events"][:8]:  # the GTIN lot's receipt is beside the steel (both into MO-E1), not in its genealogy
        assert (e.event_id in dom) != e.event_id.startswith("rcv-gtin"), e.event_id
    assert "Acme &lt;Steel&gt; &amp; Co" in dom and "<svg" in dom and "supplier recall" in dom
    Path("/tmp/mesgate-export-report.png").write_bytes(shot.read_bytes())  # for a person to look at


def test_dot_is_the_picture(pb, plant):
    dot = export(pb, plant["server"], plant["bracket"], "dot").decode()
    assert dot.startswith("digraph trace {") and f"BRACKET lot B-{plant['t']}" in dot and 'label="MO-E1"' in dot


# --------------------------------------------------------------------------- errors


def test_unknown_lot_is_not_found(pb, plant):
    assert status_code(lambda: export(pb, plant["server"], lot("STEEL", "no-such-lot"), "epcis")) == grpc.StatusCode.NOT_FOUND


def test_no_format_or_no_lot_is_invalid_argument(pb, plant):
    req = pb.genealogy_pb2.ExportRequest(lot=plant["steel"])
    with plant["server"].channel() as ch:
        stub = pb.genealogy_pb2_grpc.GenealogyStub(ch)
        assert status_code(lambda: list(stub.Export(req, metadata=bearer("auditor-token"), timeout=10))) == \
            grpc.StatusCode.INVALID_ARGUMENT
        req = pb.genealogy_pb2.ExportRequest(lot=lot("STEEL"), format=1)
        assert status_code(lambda: list(stub.Export(req, metadata=bearer("auditor-token"), timeout=10))) == \
            grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("token,expected", [("mes-token", grpc.StatusCode.PERMISSION_DENIED),
                                            ("quality-token", grpc.StatusCode.PERMISSION_DENIED),
                                            ("admin-token", grpc.StatusCode.OK),
                                            ("wrong", grpc.StatusCode.UNAUTHENTICATED)])
def test_only_auditors_and_admins_export(pb, plant, token, expected):
    assert status_code(lambda: export(pb, plant["server"], plant["steel"], "dot", token=token)) == expected


# --------------------------------------------------------------------------- mesgate export


def cli(binary, *args):
    return subprocess.run([str(binary), "export", *args], capture_output=True, timeout=120)


def test_cli_from_store_and_server_agree(binary, pb, plant, tmp_path):
    srv, steel = plant["server"], plant["steel"]
    start = ["--product", steel.product, "--lot", steel.lot, "--format", "fsma204"]
    local = cli(binary, "--data", str(srv.data), *start, "--out", str(tmp_path / "local.csv"))
    assert local.returncode == 0, local.stderr.decode()
    remote = cli(binary, "--server", srv.address, "--token", "auditor-token", *start)
    assert remote.returncode == 0, remote.stderr.decode()
    grpc_bytes = export(pb, srv, steel, "fsma204")
    assert (tmp_path / "local.csv").read_bytes() == remote.stdout == grpc_bytes
    bracket = plant["bracket"]
    forward = cli(binary, "--data", str(srv.data), "--product", bracket.product, "--lot", bracket.lot, "--forward",
                  "--format", "fsma204")
    assert forward.returncode == 0 and b"rcv-steel" not in forward.stdout and b"shp-pallet" in forward.stdout


def test_cli_not_found_and_refused_exit_non_zero(binary, plant):
    srv = plant["server"]
    missing = cli(binary, "--data", str(srv.data), "--product", "STEEL", "--lot", "no-such-lot")
    assert missing.returncode != 0 and b"not found" in missing.stderr and not missing.stdout
    remote = cli(binary, "--server", srv.address, "--token", "auditor-token", "--product", "STEEL", "--lot", "nope")
    assert remote.returncode != 0 and b"not found" in remote.stderr
    refused = cli(binary, "--server", srv.address, "--token", "mes-token", "--container", SSCC)
    assert refused.returncode != 0 and b"PERMISSION_DENIED (7)" in refused.stderr, refused.stderr
    both = cli(binary, "--data", str(srv.data), "--container", SSCC, "--forward", "--backward")
    assert both.returncode != 0


def test_trace_cli_calls_a_server_with_tokens(binary, plant):
    """`trace --server` takes --token (or MESGATE_TOKEN) like every command that calls a server, and
    a refusal is named by its gRPC code."""
    srv, steel = plant["server"], plant["steel"]

    def trace(*args, env=None):
        return subprocess.run([str(binary), "trace", "--server", srv.address, "--product", steel.product,
                               "--lot", steel.lot, "--forward", *args], capture_output=True, timeout=60,
                              env={**os.environ, **(env or {})})

    with_flag = trace("--token", "auditor-token")
    assert with_flag.returncode == 0, with_flag.stderr.decode()
    assert steel.lot.encode() in with_flag.stdout
    with_env = trace(env={"MESGATE_TOKEN": "quality-token"})
    assert with_env.returncode == 0 and with_env.stdout == with_flag.stdout, with_env.stderr.decode()
    without = trace(env={"MESGATE_TOKEN": ""})
    assert without.returncode != 0 and b"UNAUTHENTICATED (16)" in without.stderr, without.stderr
    both = subprocess.run([str(binary), "trace", "--server", srv.address, "--data", str(srv.data), "--container", SSCC],
                          capture_output=True, timeout=60)
    assert both.returncode != 0 and b"give --data or --server, not both" in both.stderr


def test_html_export_without_graphviz_says_why_and_the_server_keeps_serving(pb, server_factory, tmp_path):
    """Foundation's FileHandle.write is a `try!`: a `dot` that is not there (or fails) closed the pipe,
    and the write to it ended the gateway. Now the report comes without its picture and says why.
    The graph is big (300 long-named lots, ~100 kB of DOT, more than a pipe buffer), so the write
    cannot finish before the missing `dot` is noticed."""
    no_dot = tmp_path / "bin-without-dot"
    no_dot.mkdir()
    srv = server_factory(env={"PATH": str(no_dot)})
    m = events_pb()
    t = new_event_id("nodot")[-8:]
    ts = now_ms() - 60_000
    output = lot("ASSEMBLY", f"A-{t}")
    events = [
        m.Event(event_id=f"con-{t}-{i}", occurred_at_ms=ts, work_order=f"MO-{t}",
                consumed=m.MaterialConsumed(component=lot("P" * 200 + str(i), f"L-{t}"), qty=qty(1.0)))
        for i in range(300)
    ]
    events.append(m.Event(event_id=f"prd-{t}", occurred_at_ms=ts, work_order=f"MO-{t}",
                          produced=m.ProductionReported(output=output, good=qty(1, "Units"))))
    with srv.channel() as ch:
        acks = list(pb.events_pb2_grpc.EventIngestStub(ch).PublishStream(iter(events), timeout=120))
    assert [a.result for a in acks] == [m.Ack.ACCEPTED] * len(events)
    request = pb.genealogy_pb2.ExportRequest(lot=output, direction=1, format=FORMATS["html"])
    with srv.channel() as ch:  # a server without tokens: no authorization metadata
        html = b"".join(c.data for c in pb.genealogy_pb2_grpc.GenealogyStub(ch).Export(request, timeout=60)).decode()
    assert "No picture: graphviz&#39;s dot is not installed" in html, \
        re.findall(r"<section><h2>Genealogy</h2>.*?</section>", html, re.S)
    assert "<svg" not in html
    assert srv.alive(), f"the gateway ended:\n{srv.stderr_tail()}"
    with srv.channel() as ch:  # and it still answers
        again = list(pb.genealogy_pb2_grpc.GenealogyStub(ch).Export(request, timeout=60))
    assert again and srv.alive()
    assert "export.picture.failed" in srv.stderr_tail(100_000)
