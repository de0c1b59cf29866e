"""Every staffcall part on the secured broker, each with its own login, over TLS."""

from __future__ import annotations

import queue
import time

import msgspec
import pytest

from broker.callpoint.callpoint import CallPoint
from broker.contract.config import ConfigError
from broker.hub.shell import Hub
from broker.web.live import LiveFeed, LiveState
from staff_pager.link import PagerLink
from tests.security.conftest import peer


def wait(pred, timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_call_page_ack_greet_over_tls_with_one_login_per_part(secure_tls, tmp_path):
    cfg = secure_tls.cfg
    assert cfg.broker.tls and cfg.broker.connect_port == cfg.broker.tls_port
    hub = Hub(cfg)
    hub.start()
    states: queue.Queue = queue.Queue()
    point = CallPoint(cfg, "kiosk-1", str(tmp_path / "outbox.db"), on_state=lambda i, s: states.put(s.status))
    anna = PagerLink(cfg, "anna")
    live = LiveState(cfg.store.id)
    board = LiveFeed(cfg, live)
    try:
        assert hub.ready.wait(10), "the hub could not log in over TLS"
        board.start()
        anna.start()
        assert wait(lambda: anna.connected), "the pager could not log in over TLS"
        anna.set_presence("on_shift")
        assert wait(lambda: live.presence.get("anna") == "on_shift"), "the board did not see anna's presence"
        point.start()
        assert wait(lambda: point.connected)
        call_id = point.call(reason="product")
        assert states.get(timeout=10) == "waiting"
        assert wait(lambda: call_id in anna.snapshot().pages), "anna was not paged"
        anna.act("ack", call_id)
        assert wait(lambda: live.calls.get(call_id, {}).get("status") == "acknowledged"), live.calls
        point.greet(call_id, staff="anna")
        assert wait(lambda: live.calls.get(call_id, {}).get("status") == "greeted")
        assert wait(lambda: point.outbox.pending_count() == 0), "the kiosk's outbox was not confirmed"
        print(f"call {call_id}: paged, acknowledged, greeted over TLS port {cfg.broker.tls_port}")
    finally:
        for part in (point, anna, board):
            part.stop()
        hub.stop()


def test_tls_refuses_a_broker_signed_by_another_ca(secure_tls, tmp_path):
    from broker.mosquitto.ca import make_store_ca

    other = make_store_ca(tmp_path / "other", ["127.0.0.1"])
    cfg = msgspec.structs.replace(
        secure_tls.cfg, broker=msgspec.structs.replace(secure_tls.cfg.broker, ca=str(other.ca))
    )
    p = peer(cfg, "board")
    try:
        assert not (p.connack and not p.connack[0].is_failure), "connected to a broker the CA did not sign"
    finally:
        p.close()


def test_a_part_without_its_login_gets_a_clear_error(secure, tmp_path):
    creds = tmp_path / "only-hub.toml"
    creds.write_text('[passwords]\n"_hub" = "x"\n')
    cfg = msgspec.structs.replace(secure.cfg, broker=msgspec.structs.replace(secure.cfg.broker, credentials=str(creds)))
    with pytest.raises(ConfigError, match="no login 'kiosk-1' for device:kiosk-1"):
        CallPoint(cfg, "kiosk-1", ":memory:")
