"""The live board: its state from MQTT messages, its JSON twin, its password, and the page in Chromium."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time

import pytest
import uvicorn
from starlette.testclient import TestClient

from broker.contract.clock import iso
from broker.contract.config import ConfigError
from broker.web.app import check_exposure, create_app
from broker.web.live import LiveFeed, LiveState
from tests.conftest import store_config

T = "staffcall/s1"


def state_msg(call_id="c1", status="waiting", waited=10, updated=1000.0, **kw) -> bytes:
    msg = {
        "id": call_id,
        "device": "kiosk-1",
        "zone": "electronics",
        "reason": "product",
        "status": status,
        "tier": 1,
        "staff": None,
        "staff_name": None,
        "staff_role": None,
        "eta_s": 45,
        "opened_at": iso(updated - waited),
        "updated_at": iso(updated),
        "waited_s": waited,
        **kw,
    }
    return json.dumps(msg).encode()


def test_live_state_from_messages():
    cfg = store_config()
    live = LiveState("s1")
    assert live.apply(f"{T}/state/c1", state_msg(waited=10, updated=1000.0))
    assert live.apply(f"{T}/staff/anna/presence", b'{"status": "on_shift"}')
    assert live.apply(f"{T}/staff/ben/presence", b'{"status": "break"}')
    assert live.apply(f"{T}/device/button-1/status", b"offline")
    assert live.apply(f"{T}/summary", b'{"calls": 4, "median_greet_s": 33.0}')
    assert live.apply(f"{T}/hub/status", b"online")
    b = live.board(cfg, now=1055.0)
    (call,) = b["calls"]
    assert call["waited_s"] == 65 and call["late"] is True and call["label"] == "Kiosk by the TVs"
    assert live.board(cfg, now=1040.0)["calls"][0]["late"] is False
    # chloe and maria never signed in: not on shift today, which is not a lost connection
    assert b["staff_counts"] == {"on_shift": 1, "break": 1, "off": 2, "offline": 0}
    assert [d["id"] for d in b["devices_offline"]] == ["button-1"] and b["today"]["calls"] == 4
    # Bad input is counted and changes nothing.
    for topic, payload in [
        (f"{T}/state/c2", b"{not json"),
        (f"{T}/state/c2", state_msg("c3")),  # id does not match the topic
        (f"{T}/staff/anna/presence", b'{"status": "asleep"}'),
        (f"{T}/device/kiosk-1/status", b"maybe"),
        ("staffcall/other/state/c9", state_msg("c9")),
        (f"{T}/state/c4", b"x" * 5000),
    ]:
        assert live.apply(topic, payload) is False
    assert live.rejected == 6 and list(live.calls) == ["c1"] and live.presence["anna"] == "on_shift"
    # A closed call leaves the board: by its final state or by the cleared retained message.
    live.apply(f"{T}/state/c2", state_msg("c2"))
    assert live.apply(f"{T}/state/c1", state_msg(status="resolved"))
    assert live.apply(f"{T}/state/c2", b"")
    assert live.calls == {}


def test_json_twin_and_password():
    cfg = store_config()
    live = LiveState("s1")
    live.apply(f"{T}/state/c1", state_msg(updated=time.time()))
    with TestClient(create_app(cfg, live, today=lambda: {"calls": 7, "source": "event log"})) as client:
        data = client.get("/board.json").json()
        assert data["calls"][0]["id"] == "c1" and data["today"] == {"calls": 7, "source": "event log"}
        assert data["hub_health"]["status"] == "ok"
        live.apply(f"{T}/hub/health", b'{"status": "fault", "problem": "the disk is full", "held_records": 12}')
        data = client.get("/board.json").json()
        assert data["hub_health"] == {
            "status": "fault",
            "problem": "the disk is full",
            "held_records": 12,
            "free_mb": None,
        }
        page = client.get("/board")
        assert page.status_code == 200 and "/static/board.js" in page.text and "Test Store" in page.text
        assert client.get("/static/board.js").status_code == 200
    cfg.web.host = "0.0.0.0"
    with pytest.raises(ConfigError, match=r"\[web\] password"):
        check_exposure(cfg)
    cfg.web.password = "long phrase"
    check_exposure(cfg)
    with TestClient(create_app(cfg, live)) as client:
        assert client.get("/board.json").status_code == 401
        assert client.get("/board", headers=_basic("x", "wrong")).status_code == 401
        assert client.get("/board.json", headers={"Authorization": "Basic !!!"}).status_code == 401
        assert client.get("/board.json", headers=_basic("manager", "long phrase")).status_code == 200


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def board_server(broker, config):
    board_cfg = store_config(port=broker.port, db=config.database.path)
    board_cfg.store.target_greet_s = 1.5  # so a waiting call turns red within the test
    board_cfg.web.port = _free_port()
    live = LiveState("s1")
    feed = LiveFeed(board_cfg, live).start()
    assert feed.connected.wait(5)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(board_cfg, live),
            host="127.0.0.1",
            port=board_cfg.web.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{board_cfg.web.port}", live
    server.should_exit = True
    thread.join(5)
    feed.stop()


def test_board_updates_live_in_chromium(hub, listener, board_server, page, tmp_path):
    url, live = board_server
    listener.publish(f"{T}/staff/anna/presence", {"status": "on_shift"}, retain=True)
    listener.publish(f"{T}/device/button-1/status", "offline", retain=True)
    hub.settle()
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{url}/board")
    page.wait_for_selector("#conn.live")
    page.wait_for_function("document.querySelector('#staff').innerText.includes('I tjänst')")  # [store] language sv
    assert "Kiosk by the TVs" not in page.inner_text("#calls")

    listener.publish(f"{T}/call/kiosk-1", {"id": "c1", "reason": "product"})
    call = page.wait_for_selector(".call[data-id='c1']", timeout=5000)
    assert "Kiosk by the TVs" in call.inner_text() and "Söker Anna" in call.inner_text()
    first = page.inner_text(".call[data-id='c1'] [data-role=wait]")
    page.wait_for_selector(".call[data-id='c1'].late", timeout=5000)  # past the 1.5 s promise: red
    assert page.inner_text(".call[data-id='c1'] [data-role=wait]") != first  # the waiting time ticks
    assert "button-1" in page.inner_text("#devices")

    listener.publish(f"{T}/staff/anna/ack", {"id": "c1"})
    page.wait_for_function("document.querySelector(\".call[data-id='c1']\").innerText.includes('Anna är på väg')")
    shot = tmp_path / "board.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    listener.publish(f"{T}/call/kiosk-1/greet", {"id": "c1"})
    listener.publish(f"{T}/staff/anna/resolve", {"id": "c1"})
    page.wait_for_selector(".call[data-id='c1']", state="detached", timeout=5000)
    page.wait_for_function("document.querySelector('#today [data-key=board_fig_calls]').innerText === '1'")
    # Greeted within the time the customer was shown (the default estimate, 60 s): today's promises kept.
    page.wait_for_function("document.querySelector('#today [data-key=board_fig_promises_kept]').innerText === '100%'")
    assert "Hållna löften (visad tid)" in page.inner_text("#today")
    assert page.is_visible("#no-calls")
    if os.environ.get("STAFFCALL_KEEP_SCREENSHOTS"):
        keep = os.environ["STAFFCALL_KEEP_SCREENSHOTS"]
        os.makedirs(keep, exist_ok=True)
        shot.rename(os.path.join(keep, "board.png"))


def test_board_refuses_to_start_exposed_without_password(tmp_path, capsys):
    from broker.cli import main
    from tests.conftest import write_config

    cfg = write_config(tmp_path / "staffcall.toml", port=1883)
    assert main(["board", "-c", str(cfg), "--host", "0.0.0.0"]) == 2
    assert "[web] password" in capsys.readouterr().err


def test_today_from_the_event_log_when_no_summary(log, tmp_path):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from broker.web.cli import today_figures

    today = datetime.now(ZoneInfo("Europe/Stockholm")).date().isoformat()
    log.call(f"{today} 00:00:05", time_to_ack_s=2.0, time_to_greet_s=30.0)
    log.call(f"{today} 00:00:06", "unattended")
    cfg = store_config(db=log.path)
    cfg.store.timezone = "Europe/Stockholm"
    figures = today_figures(cfg)()
    assert (figures["calls"], figures["median_greet_s"], figures["unattended"]) == (2, 30.0, 1)
    assert today_figures(store_config(db=str(tmp_path / "none.db")))() == {}
