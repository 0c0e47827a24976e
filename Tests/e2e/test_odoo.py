"""The Odoo poster end to end: mesgate posts a plant day to the Odoo emulator (a real HTTP
server, JSON-RPC for 17/18, JSON-2 for 19) through libcurl, with and without faults, and the
emulator's records end equal to what the plant reported, nothing missing, nothing duplicated."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from conftest import admin_get, stubs
from odoo_harness import Emulator, PlantDay, emulator_factory, gateway_args, mesgate, outbox_states, reconcile, wait_drained  # noqa: F401 (emulator_factory is a fixture)


@pytest.mark.parametrize("version", [17, 18, 19])
def test_plant_day_reaches_odoo_exactly(binary, server_factory, emulator_factory, version):
    emu = emulator_factory(version)
    day = PlantDay()
    day.seed(emu)
    srv = server_factory(gateway_args(emu))
    day.publish(srv)
    states = wait_drained(srv)
    assert states == {"posted": 14}, states
    day.check(emu)
    # Keep-alive: reads and writes share connections; only calls that must not be sent twice
    # (create, mark done, validate, message_post) open a fresh one. Besides those: the poster's, the
    # release poller's and the master data poller's kept-alive connections and this test's control
    # calls (seed, state, stats).
    stats = emu.stats()
    fresh = sum(n for k, n in stats["by_method"].items() if k.rsplit(".", 1)[1] not in
                ("search", "search_read", "read", "write"))
    assert stats["connections"] <= fresh + 3 + 3 < stats["requests"], stats
    # Reconcile agrees with Odoo, and says so with exit 0.
    r = reconcile(binary, srv, emu)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 difference(s)" in r.stdout


def test_without_odoo_url_the_outbox_accumulates(server_factory):
    srv = server_factory()
    PlantDay().publish(srv)
    time.sleep(0.5)
    assert outbox_states(srv) == {"pending": 14}


FAULTS = [
    ("down", {"times": 4}),
    # On postings: the pollers' first calls (release, master data) would take an unrestricted one.
    ("slow", {"times": 2, "seconds": 3, "method": "create"}),
    ("http500", {"times": 4}),
    ("serialization", {"times": 4}),
    ("reset_after_commit", {"times": 3, "method": "create"}),
    ("reset_after_commit", {"times": 2, "method": "button_mark_done"}),
    ("auth", {"times": 2}),
]


@pytest.mark.parametrize("version", [17, 18, 19])
@pytest.mark.parametrize("kind,spec", FAULTS, ids=[f"{k}-{s.get('method', '')}" for k, s in FAULTS])
def test_fault_during_a_day_loses_and_duplicates_nothing(server_factory, emulator_factory, version, kind, spec):
    emu = emulator_factory(version)
    day = PlantDay()
    day.seed(emu)
    emu.fault(kind, **spec)
    srv = server_factory(gateway_args(emu))
    day.publish(srv)
    states = wait_drained(srv, timeout=90)
    assert states == {"posted": 14}, (states, srv.query("SELECT kind, last_error FROM outbox WHERE state != 'posted'"))
    assert emu.stats()["faults"].get(kind), "the fault never fired"
    day.check(emu)
    if kind in ("down", "http500", "serialization", "slow"):
        assert srv.scalar("SELECT max(attempts) FROM outbox") >= 1


def test_validation_error_dead_letters_exactly_that_record_and_replay_clears_it(
        binary, server_factory, emulator_factory):
    emu = emulator_factory(17)
    day = PlantDay()
    day.seed(emu)
    # Odoo refuses every scrap of this day (a ValidationError on the chosen record).
    emu.fault("validation", match="offcut-never", method="nothing")  # a fault that never applies
    emu.fault("validation", match=f"MES:pd-{day.tag}-8", method="create")
    srv = server_factory(gateway_args(emu))
    day.publish(srv)
    states = wait_drained(srv)
    assert states == {"posted": 13, "dead": 1}, states
    dead = srv.query("SELECT id, sequence, kind, last_error FROM outbox WHERE state = 'dead'")
    assert dead[0][2] == "scrapped" and "ValidationError" in dead[0][3], dead
    listed = json.loads(mesgate(binary, srv, "outbox", "list", "--state", "dead", "--json").stdout)
    misspelt = mesgate(binary, srv, "outbox", "list", "--state", "deadletter")
    assert misspelt.returncode != 0 and "unknown --state deadletter: one of pending, failed, dead" in misspelt.stderr
    assert [r["id"] for r in listed["rows"]] == [dead[0][0]]
    shown = json.loads(mesgate(binary, srv, "outbox", "show", str(dead[0][0]), "--json").stdout)
    assert "Injected validation error" in shown["odoo_answer"]
    assert not [s for s in emu.records("stock.scrap") if s["origin"] == f"MES:pd-{day.tag}-8"]
    # Fix the data in Odoo, replay the range: the scrap arrives once.
    emu.clear_faults()
    r = mesgate(binary, srv, "outbox", "replay", "--from", str(dead[0][1]), "--reason", "fixed in Odoo")
    assert r.returncode == 0, r.stderr
    assert wait_drained(srv) == {"posted": 14}
    day.check(emu)
    assert srv.query("SELECT action, rows, reason FROM outbox_audit") == [("replay", 1, "fixed in Odoo")]


def test_missing_lot_on_tracked_component_is_dead_then_replayed_after_fixing_odoo(
        binary, server_factory, emulator_factory):
    emu = emulator_factory(18)
    day = PlantDay()
    day.seed(emu)
    emu.set_product("BOLT", tracking="lot")  # Odoo tracks bolts; the plant consumes them loose
    srv = server_factory(gateway_args(emu))
    acks = day.publish(srv)
    states = wait_drained(srv)
    dead = srv.query("SELECT kind, last_error FROM outbox WHERE state = 'dead'")
    assert states == {"posted": 7, "dead": 7}, (states, dead)  # MO-A: 2 operations, 3 consumptions, 2 productions
    assert all("Lot/Serial number for products BOLT" in e for _, e in dead), dead
    emu.set_product("BOLT", tracking="none")
    r = mesgate(binary, srv, "outbox", "replay", "--from", str(acks[0].sequence), "--to", str(acks[-1].sequence))
    assert r.returncode == 0, r.stderr
    assert wait_drained(srv) == {"posted": 14}
    day.check(emu)


def test_skip_is_audited(binary, server_factory, emulator_factory):
    emu = emulator_factory(17)
    day = PlantDay()
    day.seed(emu)
    srv = server_factory(gateway_args(emu, odoo_url="http://127.0.0.1:9"))  # nothing listens
    day.publish(srv)
    time.sleep(0.5)
    row = srv.scalar("SELECT min(id) FROM outbox")
    r = mesgate(binary, srv, "outbox", "skip", str(row), "--reason", "booked by hand")
    assert r.returncode == 0, r.stderr
    assert srv.query("SELECT state, skipped_reason FROM outbox WHERE id = ?", (row,)) == [("skipped", "booked by hand")]
    assert srv.query("SELECT action, outbox_id, reason FROM outbox_audit") == [("skip", row, "booked by hand")]


def test_a_skipped_dead_consumption_is_never_posted_and_leaves_its_order(binary, server_factory, emulator_factory):
    """Odoo tracks bolts by lot, the plant consumes them loose: the order's postings all die. The
    administrator skips the bolt consumption: it is `skipped` (not posted) in `outbox list`, its
    order's totals leave it out, so the order's other rows go through on retry; Odoo never gets it."""
    emu = emulator_factory(17)
    day = PlantDay()
    day.seed(emu)
    emu.set_product("BOLT", tracking="lot")
    srv = server_factory(gateway_args(emu))
    day.publish(srv)
    assert wait_drained(srv) == {"posted": 7, "dead": 7}
    bolt = srv.scalar("SELECT o.id FROM outbox o JOIN events e ON e.sequence = o.sequence WHERE e.event_id = ?",
                      (f"pd-{day.tag}-5",))
    r = mesgate(binary, srv, "outbox", "skip", str(bolt), "--reason", "bolts are booked by hand")
    assert r.returncode == 0 and f"skipped {bolt}" in r.stdout, r.stdout + r.stderr
    listed = json.loads(mesgate(binary, srv, "outbox", "list", "--state", "skipped", "--json").stdout)
    assert [(row["id"], row["state"], row["skipped_reason"]) for row in listed["rows"]] == [
        (bolt, "skipped", "bolts are booked by hand")], listed
    # posted: 7 of the day's events and 3 exception activities (its stop raised and closed, its failed check).
    assert listed["counts"] == {"posted": 10, "dead": 6, "skipped": 1}, listed
    text = mesgate(binary, srv, "outbox", "list", "--state", "skipped").stdout
    assert f"#{bolt} " in text and " skipped " in text and "skipped: bolts are booked by hand" in text, text
    misspelt = mesgate(binary, srv, "outbox", "list", "--state", "skiped")
    assert misspelt.returncode != 0
    assert "unknown --state skiped: one of pending, failed, dead, posted, resolved, skipped" in misspelt.stderr
    # "Retry all" takes the dead rows, not the skipped one; the order goes through without the bolts.
    r = mesgate(binary, srv, "outbox", "retry")
    assert r.returncode == 0 and "6 posting(s) due again" in r.stdout, r.stdout + r.stderr
    assert wait_drained(srv) == {"posted": 13, "skipped": 1}
    assert srv.query("SELECT state, posted_at_ms FROM outbox WHERE id = ?", (bolt,)) == [("skipped", None)]
    st = emu.state()
    products = {r["default_code"]: r["id"] for r in st["product.product"].values()}
    mo_a = next(r for r in st["mrp.production"].values() if r["name"] == day.mo_a)
    assert mo_a["state"] == "done" and mo_a["qty_producing"] == 10, mo_a
    raw_lines = [ml for ml in st["stock.move.line"].values()
                 if st["stock.move"][str(ml["move_id"])]["raw_material_production_id"] == mo_a["id"]]
    assert raw_lines and not [ml for ml in raw_lines if ml["product_id"] == products["BOLT"]], raw_lines
    status, _, metrics = admin_get(srv, "/metrics")
    assert status == 200 and 'mesgate_outbox_rows{state="skipped"} 1' in metrics
    # Reconcile compares Odoo with what is to reach it, and names the skipped event apart.
    r = reconcile(binary, srv, emu, day.mo_a)
    assert r.returncode == 0 and "0 difference(s)" in r.stdout, r.stdout + r.stderr
    assert "skipped by hand (not sent to Odoo)" in r.stdout, r.stdout
    # A posted row cannot be skipped; a skipped one is not skipped twice.
    posted = srv.scalar("SELECT min(id) FROM outbox WHERE state = 'posted'")
    for row in (posted, bolt):
        r = mesgate(binary, srv, "outbox", "skip", str(row), "--reason", "again")
        assert r.returncode != 0 and "no pending, failed or dead outbox row" in r.stderr, r.stderr


def test_reconcile_reports_differences_and_exits_non_zero(binary, server_factory, emulator_factory):
    emu = emulator_factory(19)
    day = PlantDay()
    day.seed(emu)
    srv = server_factory()  # posting off: Odoo never hears of the day
    day.publish(srv)
    r = reconcile(binary, srv, emu)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"{day.mo_a}: produced plant 10.0, Odoo 0.0" in r.stdout


def test_reconcile_reads_its_config_file_as_serve_does(binary, server_factory, emulator_factory, tmp_path):
    """`reconcile --config FILE` takes the store from the file's "data" (it used to ignore it and
    look in ./mesgate-data), and Odoo from its odoo-* keys, as `serve --config FILE` would."""
    emu = emulator_factory(17)
    day = PlantDay()
    day.seed(emu)
    srv = server_factory()
    day.publish(srv)
    cfg = tmp_path / "mesgate.json"
    cfg.write_text(json.dumps({"data": str(srv.data), "odoo-url": emu.url, "odoo-db": "plant",
                               "odoo-login": "mesgate", "odoo-api-key": "secret-key"}))
    r = subprocess.run([str(binary), "reconcile", "--config", str(cfg)], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"{day.mo_a}: produced plant 10.0, Odoo 0.0" in r.stdout
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    r = subprocess.run([str(binary), "reconcile", "--config", str(bad), "--odoo-url", emu.url, "--odoo-db", "plant",
                        "--odoo-login", "mesgate", "--odoo-api-key", "k"], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path)
    assert r.returncode != 0 and "bad.json" in r.stderr, r.stderr


def test_long_outage_is_absorbed_and_drained(server_factory, emulator_factory):
    emu = emulator_factory(17)
    days = [PlantDay() for _ in range(5)]
    for d in days:
        d.seed(emu)
    emu.fault("down", times=-1)
    srv = server_factory(gateway_args(emu))
    for d in days:
        d.publish(srv)
    time.sleep(3)  # "hours" of outage, compressed
    states = outbox_states(srv)
    assert not states.get("posted") and not states.get("dead"), states
    emu.clear_faults()
    assert wait_drained(srv, timeout=60) == {"posted": 14 * len(days)}
    for d in days:
        d.check(emu)


def test_crash_while_posting_duplicates_nothing(server_factory, emulator_factory):
    """SIGKILL mesgate while Odoo is answering slowly (postings done in Odoo, not yet marked), then
    restart it on the same data: every posting is found again, nothing is made twice."""
    emu = emulator_factory(18)
    day = PlantDay()
    day.seed(emu)
    emu.fault("slow", times=-1, seconds=0.3)
    srv = server_factory(gateway_args(emu, odoo_timeout_ms=5000))
    day.publish(srv)
    deadline = time.monotonic() + 20
    while emu.stats()["calls"] < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    srv.kill()
    assert outbox_states(srv).get("pending", 0) + outbox_states(srv).get("failed", 0) > 0
    emu.clear_faults()
    srv.start()
    assert wait_drained(srv) == {"posted": 14}
    day.check(emu)


def test_latency_classes_coalesce_orders_and_post_immediates_at_once(server_factory, emulator_factory):
    emu = emulator_factory(17)
    day = PlantDay()
    day.seed(emu)
    srv = server_factory(gateway_args(emu, odoo_coalesce_ms=60000))
    day.publish(srv)
    time.sleep(2)
    by_kind = dict(srv.query("SELECT kind || ':' || state, count(*) FROM outbox GROUP BY 1"))
    # Downtime and quality (immediate) and scrap (normal) are in Odoo; production waits to be coalesced.
    # The exceptions' Odoo activities are immediate too: the stop (raised, then closed) and the failed check.
    assert by_kind == {"downtime:posted": 2, "quality:posted": 1, "scrapped:posted": 1, "consumed:pending": 4,
                       "produced:pending": 3, "operation:pending": 3, "exception:posted": 2,
                       "exception_closed:posted": 1}, by_kind
    srv.stop()
    # Configured as immediate, the same rows go at once.
    srv2 = server_factory(gateway_args(emu, odoo_coalesce_ms=60000,
                                       odoo_latency="produced=immediate,consumed=immediate,operation=immediate"),
                          data=srv.data)
    assert wait_drained(srv2, timeout=20) == {"posted": 14}
    day.check(emu)


def test_odoo_settings_from_config_file_and_environment(server_factory, emulator_factory, tmp_path):
    emu = emulator_factory(19)
    day = PlantDay()
    day.seed(emu)
    config = tmp_path / "mesgate.json"
    config.write_text(json.dumps({"odoo-url": emu.url, "odoo-db": "plant", "odoo-login": "mesgate",
                                  "odoo-coalesce-ms": 300, "odoo-latency": "quality=immediate"}))
    srv = server_factory(["--config", str(config)], env={"MESGATE_ODOO_API_KEY": "secret-key"})
    day.publish(srv)
    assert wait_drained(srv) == {"posted": 14}
    day.check(emu)


@pytest.mark.parametrize("args,message", [
    (["--odoo-url", "http://127.0.0.1:9"], "odoo-db is needed with odoo-url"),
    (["--odoo-url", "ftp://x", "--odoo-db", "d"], "odoo-url must start with http:// or https://"),
    (["--odoo-url", "http://127.0.0.1:9", "--odoo-db", "d", "--odoo-login", "l", "--odoo-api-key", "k",
      "--odoo-quality-notes", "some"], "odoo-quality-notes must be all, failures or none"),
    (["--odoo-url", "http://127.0.0.1:9", "--odoo-db", "d", "--odoo-login", "l", "--odoo-api-key", "k",
      "--odoo-holds", "quarantine"], "odoo-holds must be activity or none"),
    (["--odoo-url", "http://127.0.0.1:9", "--odoo-db", "d", "--odoo-login", "l", "--odoo-api-key", "k",
      "--odoo-latency", "scrap=now"], "odoo-latency must be KIND=CLASS"),
])
def test_bad_odoo_settings_are_one_line_and_exit_1(binary, tmp_path, args, message):
    r = subprocess.run([str(binary), "serve", "--listen", "127.0.0.1:0", "--data", str(tmp_path / "d"), *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and message in r.stderr, r.stderr


def test_tls_certificates_are_verified(server_factory, tmp_path):
    """An Odoo whose certificate no CA vouches for gets nothing: postings fail (retryable) with
    libcurl's certificate error, and the emulator sees no call."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-days",
                    "1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    emu = Emulator(17, tmp_path / "logs", tls=(cert, key))
    try:
        assert emu.url.startswith("https://")
        day = PlantDay()
        day.seed(emu)
        srv = server_factory(gateway_args(emu))
        day.publish(srv)
        deadline = time.monotonic() + 10
        while not srv.query("SELECT 1 FROM outbox WHERE state = 'failed'") and time.monotonic() < deadline:
            time.sleep(0.1)
        errors = {e for (e,) in srv.query("SELECT last_error FROM outbox WHERE state = 'failed'")}
        assert errors and all("certificate" in e.lower() and e.startswith("retryable") for e in errors), errors
        assert emu.stats()["requests"] == 0
    finally:
        emu.stop()


def test_quality_notes_can_be_limited_to_failures(server_factory, emulator_factory):
    emu = emulator_factory(17)
    day = PlantDay()
    day.seed(emu)
    events = day.build()
    passed = stubs_pass(events[-5])  # a PASS result on the same lot
    srv = server_factory(gateway_args(emu, odoo_quality_notes="failures"))
    day.publish(srv, events + [passed])
    assert wait_drained(srv) == {"posted": 15}
    day.check(emu)  # exactly one note: the FAIL
    assert srv.scalar("SELECT odoo_answer FROM outbox o JOIN events e ON e.sequence = o.sequence WHERE e.event_id = ?",
                      (passed.event_id,)) == "not posted: odoo-quality-notes is failures"


def stubs_pass(fail_event):
    from conftest import stubs

    e = stubs().events_pb2.Event()
    e.CopyFrom(fail_event)
    e.event_id = fail_event.event_id + "-pass"
    e.quality.outcome = stubs().events_pb2.QualityResult.PASS
    return e


@pytest.mark.parametrize("version", [18, 19])
def test_wizards_scrap_beyond_stock_and_backorder_for_the_rest(server_factory, emulator_factory, version):
    """Odoo answers a wizard instead of true: scrapping more than it thinks is on hand (confirmed
    through stock.warn.insufficient.qty.scrap), and an order done short of plan (a backorder kept
    with --odoo-backorders yes)."""
    emu = emulator_factory(version)
    day = PlantDay()
    day.seed(emu)
    emu.set_product("STEEL", qty_available=0.1)
    events = [e for e in day.build() if not (e.work_order == day.mo_a and e.WhichOneof("body") == "produced"
                                             and e.produced.good.value == 6)]  # MO-A makes 4 of 10
    srv = server_factory(gateway_args(emu, odoo_backorders="yes"))
    day.publish(srv, events)
    assert wait_drained(srv) == {"posted": 13}
    st = emu.state()
    scraps = [s for s in st["stock.scrap"].values() if s["origin"].startswith(f"MES:pd-{day.tag}")]
    assert len(scraps) == 1 and scraps[0]["state"] == "done"
    assert len(st["stock.warn.insufficient.qty.scrap"]) == 1
    mos = {r["name"]: r for r in st["mrp.production"].values()}
    # Odoo renames the original <name>-001 when it makes the first backorder, <name>-002.
    assert day.mo_a not in mos
    assert mos[f"{day.mo_a}-001"]["state"] == "done" and mos[f"{day.mo_a}-001"]["qty_producing"] == 4
    assert mos[f"{day.mo_a}-002"]["product_qty"] == 6 and mos[f"{day.mo_a}-002"]["state"] == "confirmed"


def test_auth_failure_pauses_posting_and_alerts_by_metric_and_log(server_factory, emulator_factory):
    import urllib.request

    emu = emulator_factory(19)
    day = PlantDay()
    day.seed(emu)
    emu.fault("auth", times=3)
    srv = server_factory(gateway_args(emu))
    day.publish(srv)
    assert wait_drained(srv) == {"posted": 14}
    with urllib.request.urlopen(f"http://127.0.0.1:{srv.admin_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    failures = [line for line in text.splitlines() if line.startswith("mesgate_odoo_auth_failures_total")]
    assert failures and float(failures[0].split()[-1]) >= 1, failures
    # The day's 14 rows and its 3 exception activity rows.
    assert 'mesgate_odoo_postings_total{outcome="posted"} 17' in text
    # Odoo call latency: one observation per posting attempt (coalesced), the refused ones included.
    counts = [line for line in text.splitlines() if line.startswith("mesgate_odoo_posting_duration_seconds_count")]
    assert counts and float(counts[0].split()[-1]) >= float(failures[0].split()[-1]) + 1, counts
    assert srv.query("SELECT max(attempts) FROM outbox") == [(0,)]  # no retries burnt on the key
    assert "odoo.auth.failed" in srv.stderr_tail(200_000)


@pytest.mark.parametrize("version", [17, 19])
def test_a_downtime_naming_its_work_center_by_code_is_posted(server_factory, emulator_factory, version):
    """Odoo keeps a work center's name ("Assembly line 2") and code ("ASSY-2") apart; a plant names
    it by code. The downtime is posted on that work center (it used to be dead: looked up by name)."""
    emu = emulator_factory(version)
    day = PlantDay()
    emu.seed(products=[], workcenters=[{"name": f"Assembly line {day.tag}", "code": f"ASSY-{day.tag}"}])
    srv = server_factory(gateway_args(emu))
    m = stubs().events_pb2
    stub = stubs().events_pb2_grpc.EventIngestStub(srv.channel())
    now = int(time.time() * 1000)
    ack = stub.Publish(m.Event(event_id=f"dt-{day.tag}", occurred_at_ms=now, tz_offset="+01:00", plant="P1",
                               work_center=f"ASSY-{day.tag}", downtime=m.DowntimeReported(
                                   reason="belt torn", loss=m.DowntimeReported.AVAILABILITY,
                                   started_at_ms=now - 60_000)), timeout=10)
    assert ack.result == m.Ack.ACCEPTED
    assert wait_drained(srv) == {"posted": 1}
    st = emu.state()
    wc = next(w for w in st["mrp.workcenter"].values() if w["code"] == f"ASSY-{day.tag}")
    downs = [d for d in st["mrp.workcenter.productivity"].values() if d["workcenter_id"] == wc["id"]]
    assert len(downs) == 1 and "belt torn" in downs[0]["description"], downs
