"""The gateway as a store runs it: logged in to the broker ``staffcall broker init`` sets up (logins,
ACL), the real hub, and transmitters that are as strict as their standards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from broker.hub.shell import Hub
from hardware import tap
from staff_pager.gateway import PagerGateway
from tests.security.conftest import SecureStore, peer, start_secure_store
from tests.staff_pager.gateway.simulators import EspaPagingSystem, FakeAdapter, TapCentral, leave_logged_on

T = "staffcall/s1"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SecureStore]:
    s = start_secure_store(tmp_path)
    yield s
    s.broker.stop()


@pytest.fixture
def hub(store: SecureStore) -> Iterator[Hub]:
    h = Hub(store.cfg)
    h.start()
    assert h.ready.wait(10), "the hub could not log in to the store's broker"
    yield h
    h.stop()


def start_gateway(store: SecureStore, adapter: FakeAdapter, protocol: str) -> PagerGateway:
    """dave wears the radio pager (1234); the gateway logs in with its own credential."""
    g = store.cfg.pager_gateway
    # timeout_s is generous: nothing here waits for it, and a late answer on a loaded machine must not
    # turn into a second select.
    g.port, g.protocol, g.timeout_s, g.retries, g.max_chars = str(adapter.path), protocol, 3.0, 1, 60
    next(s for s in store.cfg.staff if s.id == "dave").pager = f"{protocol}:1234"
    gw = PagerGateway(store.cfg)
    gw.start()
    assert gw.ready.wait(10), f"the gateway did not get ready: {gw.state} {gw.last_error}"
    return gw


def call_dave(store: SecureStore, hub: Hub, call_id: str, device: str = "kiosk-2") -> None:
    """dave (radio pager, no PIN) is put on shift by a manager in the web app; a toys device calls."""
    phones = peer(store.cfg, "phones")
    kiosk = peer(store.cfg, f"device:{device}")
    try:
        phones.publish(f"{T}/staff/dave/presence", json.dumps({"status": "on_shift"}), retain=True)
        assert hub.settle() and hub.core.router.status("dave") == "on_shift"
        kiosk.publish(f"{T}/call/{device}", json.dumps({"id": call_id, "reason": "product"}))
    finally:
        phones.close()
        kiosk.close()


def declined(store: SecureStore, hub: Hub, call_id: str) -> list[dict]:
    assert hub.settle()
    db = sqlite_utils.Database(store.cfg.database.path)
    return [json.loads(r["payload"]) for r in db["events"].rows_where("kind = 'declined' and call_id = ?", [call_id])]


def test_espa_first_page_after_start_and_an_unknown_pager(store, hub, tmp_path):
    adapter = FakeAdapter(tmp_path)
    sim = EspaPagingSystem(adapter)
    sim.start()
    monitor = peer(store.cfg, "monitor", [f"{T}/#"])
    gw = start_gateway(store, adapter, "espa")
    try:
        call_dave(store, hub, "s1")
        frame = sim.wait_received(1)[0]
        assert frame.startswith(b"\x011\x021\x1f1234\x1e2\x1f")
        assert sim.selects == 1 and sim.ignored == [], "the first select after opening the port must be taken"

        sim.known_pagers = {"5678"}  # dave's pager was removed from the paging system
        call_dave(store, hub, "s2", device="button-1")
        _, payload = monitor.wait_for(lambda t, m: t == f"{T}/staff/dave/decline" and b'"s2"' in m, timeout=10)
        assert json.loads(payload)["reason"] == "pager gateway: pager unknown or unavailable (NAK 3)"
        assert sim.naks == [b"3\x15"], "a refusal is not resent"
        assert declined(store, hub, "s2")[0]["reason"] == "pager gateway: pager unknown or unavailable (NAK 3)"
    finally:
        gw.stop()
        monitor.close()
        sim.stop()
        adapter.close()


def test_tap_terminal_left_logged_on_and_a_refusal_in_full(store, hub, tmp_path):
    adapter = FakeAdapter(tmp_path)
    sim = TapCentral(adapter)
    sim.start()
    leave_logged_on(adapter, sim)  # the gateway before this one died mid-session
    monitor = peer(store.cfg, "monitor", [f"{T}/#"])
    gw = start_gateway(store, adapter, "tap")
    try:
        call_dave(store, hub, "t1")
        assert tap.parse_block(sim.wait_received(1)[0])[0] == "1234"
        assert not [t for t in monitor.topics() if t.endswith("/decline")]

        sim.refuse = True
        call_dave(store, hub, "t2", device="button-1")
        _, payload = monitor.wait_for(lambda t, m: t == f"{T}/staff/dave/decline" and b'"t2"' in m, timeout=10)
        assert json.loads(payload)["reason"] == "pager gateway: refused: 511 Invalid pager ID - not in database"
        assert declined(store, hub, "t2")[0]["reason"].endswith("511 Invalid pager ID - not in database")
    finally:
        gw.stop()
        monitor.close()
        sim.stop()
        adapter.close()
