"""EventIngest.ImportEPCIS with grpcio and `mesgate import-epcis`: a supplier's EPCIS 2.0 capture
document becomes receipts and transformations in the genealogy; a refused document stores
nothing and says why."""

from __future__ import annotations

import json
import uuid
import subprocess
from pathlib import Path

import grpc
import pytest

from conftest import RPC_TIMEOUT_S

CAPTURE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "epcis" / "capture"
VALID = CAPTURE / "valid" / "TransformationEvent.json"
INVALID = CAPTURE / "invalid" / "ObjectEvent_with_non_standard_bizStep_in_second_event.json"

RECEIPT = {
    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
    "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-07-22T06:00:00Z",
    "epcisBody": {"eventList": [{
        "type": "ObjectEvent", "eventTime": "2026-07-22T06:45:00+02:00", "eventTimeZoneOffset": "+02:00",
        "action": "ADD", "bizStep": "receiving",
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.E2E-1", "quantity": 25, "uom": "KGM"}],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:PO-9"}],
    }]},
}


def import_document(pb, server, data: bytes):
    with server.channel() as ch:
        stub = pb.events_pb2_grpc.EventIngestStub(ch)
        return stub.ImportEPCIS(pb.events_pb2.EPCISDocument(json=data), timeout=RPC_TIMEOUT_S)


def test_valid_document_is_stored_once(pb, server):
    before = server.scalar("SELECT count(*) FROM events")
    result = import_document(pb, server, VALID.read_bytes())
    assert result.events == 1 and result.transformations == 1 and result.not_mapped == 0
    assert result.stored > 0 and result.duplicates == 0 and result.import_id > 0
    assert server.scalar("SELECT count(*) FROM events") == before + result.stored
    assert server.scalar("SELECT count(*) FROM epcis_imports WHERE document_sha256 = ?", (result.document_sha256,)) == 1
    again = import_document(pb, server, VALID.read_bytes())
    assert again.stored == 0 and again.duplicates == result.stored and again.import_id == 0
    assert server.scalar("SELECT count(*) FROM events") == before + result.stored


def test_receipt_is_traceable(pb, server):
    result = import_document(pb, server, json.dumps(RECEIPT).encode())
    assert result.receipts == 1 and result.stored == 1
    lot = pb.common_pb2.LotRef(product="04012345123456", lot="E2E-1")
    with server.channel() as ch:
        trace = pb.genealogy_pb2_grpc.GenealogyStub(ch).Trace(
            pb.genealogy_pb2.TraceRequest(lot=lot, direction=pb.common_pb2.BACKWARD),
            timeout=RPC_TIMEOUT_S)
    assert [(r.supplier, r.purchase_order) for r in trace.receipts] == [
        ("urn:epc:id:pgln:4012345.00000", "urn:epcglobal:cbv:bt:4012345000009:PO-9")]


def test_invalid_document_is_refused_and_stores_nothing(pb, server):
    before = (server.scalar("SELECT count(*) FROM events"), server.scalar("SELECT count(*) FROM epcis_imports"))
    with pytest.raises(grpc.RpcError) as refused:
        import_document(pb, server, INVALID.read_bytes())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == 'eventList[1].bizStep: "transforming" is not a CBV bizStep and not a URI'
    with pytest.raises(grpc.RpcError) as garbage:
        import_document(pb, server, b"{not json")
    assert garbage.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert garbage.value.details().startswith("not valid JSON at byte 1")
    after = (server.scalar("SELECT count(*) FROM events"), server.scalar("SELECT count(*) FROM epcis_imports"))
    assert after == before


def run_cli(binary, *args):
    return subprocess.run([str(binary), "import-epcis", *args], capture_output=True, text=True, timeout=60)


def test_cli_with_data_folder(binary, tmp_path):
    out = run_cli(binary, str(VALID), "--data", str(tmp_path / "store"))
    assert out.returncode == 0, out.stderr
    assert "1 EPCIS events, 0 not mapped" in out.stdout and "transformations 1" in out.stdout
    again = run_cli(binary, str(VALID), "--data", str(tmp_path / "store"), "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["stored"] == 0 and summary["duplicates"] > 0 and summary["import_id"] == 0
    refused = run_cli(binary, str(INVALID), "--data", str(tmp_path / "store"))
    assert refused.returncode == 1
    assert 'eventList[1].bizStep: "transforming" is not a CBV bizStep and not a URI' in refused.stderr
    missing = run_cli(binary, str(tmp_path / "nope.json"), "--data", str(tmp_path / "store"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_cli_with_server(binary, server):
    out = run_cli(binary, str(CAPTURE / "valid" / "AggregationEvent.json"), "--server", server.address, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["events"] >= 1
    refused = run_cli(binary, str(INVALID), "--server", server.address)
    assert refused.returncode == 1
    assert "not a CBV bizStep" in refused.stderr and "INVALID_ARGUMENT (3)" in refused.stderr


def test_an_event_the_store_refuses_refuses_the_whole_document(pb, server):
    """An EPCIS eventID the store holds already with another event: nothing of the document is kept."""
    receipt = json.loads(json.dumps(RECEIPT))
    first = receipt["epcisBody"]["eventList"][0]
    first["eventID"] = f"urn:uuid:{uuid.uuid4()}"
    first["quantityList"][0]["epcClass"] = "urn:epc:class:lgtin:4012345.012345.E2E-FIRST"
    assert import_document(pb, server, json.dumps(receipt).encode()).stored == 1
    other = json.loads(json.dumps(receipt))
    other["epcisBody"]["eventList"][0]["quantityList"][0]["epcClass"] = "urn:epc:class:lgtin:4012345.012345.E2E-NEW"
    del other["epcisBody"]["eventList"][0]["eventID"]
    reused = json.loads(json.dumps(first))
    reused["quantityList"][0]["quantity"] = 7
    other["epcisBody"]["eventList"].append(reused)
    before = (server.scalar("SELECT count(*) FROM events"), server.scalar("SELECT count(*) FROM epcis_imports"))
    with pytest.raises(grpc.RpcError) as refused:
        import_document(pb, server, json.dumps(other).encode())
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    details = refused.value.details()
    assert details.startswith("eventList[1]: ") and "is stored already" in details, details
    assert "nothing of the document was stored" in details
    assert (server.scalar("SELECT count(*) FROM events"), server.scalar("SELECT count(*) FROM epcis_imports")) == before
    assert server.scalar("SELECT count(*) FROM nodes WHERE lot = 'E2E-NEW'") == 0


def test_a_suppliers_shipping_is_imported_as_our_receipt(pb, server):
    shipping = json.loads(json.dumps(RECEIPT))
    event = shipping["epcisBody"]["eventList"][0]
    event.update({"action": "OBSERVE", "bizStep": "shipping"})
    event["quantityList"][0]["epcClass"] = "urn:epc:class:lgtin:4012345.012345.E2E-SHIP"
    result = import_document(pb, server, json.dumps(shipping).encode())
    assert (result.stored, result.receipts, result.shipments) == (1, 1, 0), result
    assert server.scalar("SELECT kind FROM events WHERE event_id LIKE '%#received.0' ORDER BY sequence DESC LIMIT 1") \
        == "received"
    assert server.scalar("SELECT count(*) FROM shipments s JOIN nodes n ON n.id = s.node_id WHERE n.lot = 'E2E-SHIP'") == 0
    assert server.scalar(
        "SELECT supplier FROM receipts r JOIN nodes n ON n.id = r.node_id WHERE n.lot = 'E2E-SHIP'") \
        == "urn:epc:id:pgln:4012345.00000"


def test_cli_sends_the_token_and_reports_refusals(binary, server_factory, tmp_path):
    import hashlib

    tokens = tmp_path / "tokens"
    tokens.write_text(
        f"supplier-gw mes sha256:{hashlib.sha256(b'mes-secret').hexdigest()}\n"
        f"qa quality sha256:{hashlib.sha256(b'qa-secret').hexdigest()}\n")
    srv = server_factory(extra_args=["--tokens", str(tokens)])
    ok = run_cli(binary, str(VALID), "--server", srv.address, "--token", "mes-secret")
    assert ok.returncode == 0, ok.stderr
    assert srv.scalar("SELECT client FROM epcis_imports") == "supplier-gw"
    missing = run_cli(binary, str(VALID), "--server", srv.address)
    assert missing.returncode == 1 and "UNAUTHENTICATED (16)" in missing.stderr
    wrong_role = run_cli(binary, str(VALID), "--server", srv.address, "--token", "qa-secret")
    assert wrong_role.returncode == 1 and "PERMISSION_DENIED (7)" in wrong_role.stderr
