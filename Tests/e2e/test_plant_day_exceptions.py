"""A plant day from bench/plantgen (`plantgen.Day`: products, BoMs, work centers and orders as Odoo's
master data, every order consuming what its BoM says) through the gateway against the Odoo
emulator: with its deliberate deviations, exactly the expected exceptions, counted by kind; on a
clean day, none."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import RPC_TIMEOUT_S, stubs
from odoo_harness import emulator_factory, gateway_args  # noqa: F401 (a fixture)
from test_master_data import wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "plantgen"))
import plantgen  # noqa: E402


@pytest.mark.parametrize("deviations", [False, True], ids=["clean", "deviations"])
def test_a_plant_day_raises_exactly_its_deviations(server_factory, emulator_factory, deviations):
    day = plantgen.Day(seed=11, deviations=deviations)
    emu = emulator_factory(17)
    emu.seed(**day.master_data())
    srv = server_factory(gateway_args(emu, odoo_masterdata_poll_ms=300, odoo_release_poll_ms=200))
    md = stubs().master_data_pb2
    listing = stubs().master_data_pb2_grpc.MasterDataStub(srv.channel())
    wait_for(lambda: len(list(listing.List(md.MasterDataFilter(kind=md.MasterItem.BOM), timeout=5).items)) == 3)
    # Every order released to the plant (with what Odoo has on hand of its components) before it starts.
    wo = stubs().work_orders_pb2
    orders = stubs().work_orders_pb2_grpc.WorkOrdersStub(srv.channel())
    wait_for(lambda: len(orders.List(wo.WorkOrderFilter(), timeout=5).work_orders) >= len(day.orders))
    m, c = stubs().events_pb2, stubs().common_pb2
    acks = list(stubs().events_pb2_grpc.EventIngestStub(srv.channel()).PublishStream(
        iter([plantgen.to_pb(e, m, c) for e in day.out]), timeout=RPC_TIMEOUT_S))
    assert len(acks) == len(day.out) and all(a.result == m.Ack.ACCEPTED for a in acks), [
        a for a in acks if a.result != m.Ack.ACCEPTED][:3]
    raised = dict(srv.query("SELECT kind, count(*) FROM exceptions GROUP BY kind"))
    assert raised == day.expected, (raised, srv.query("SELECT kind, detail FROM exceptions"))
