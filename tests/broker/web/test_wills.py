"""A web server that dies takes the colleagues it spoke for off the routing (broker/web/wills.py).

The real ``staffcall web`` in its own process against a real Mosquitto: Anna and Ben sign
in on their phones, Anna goes on shift, Ben on shift and then off.  ``kill -9`` gives the
server no chance to say anything; the broker must publish Anna's Will (``offline``) and
nothing for Ben, and the hub must take Anna off the routing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.broker.web.conftest import PIN, free_port, phones_toml
from tests.mqtt_helpers import Listener

ROOT = Path(__file__).resolve().parents[3]
PRESENCE = "staffcall/s1/staff/{}/presence"


def start_web(config: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "broker.cli", "web", "--config", str(config)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while True:
        assert proc.poll() is None, proc.stderr.read()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/staff", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "staffcall web did not start"
        time.sleep(0.2)


def sign_in(port: int, staff: str) -> httpx.Client:
    phone = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5)
    assert phone.post("/staff/api/login", json={"staff": staff, "pin": PIN}).status_code == 200
    return phone


def set_presence(phone: httpx.Client, status: str) -> None:
    r = phone.post("/staff/api/presence", json={"status": status})
    assert r.status_code == 200, r.text


def test_killed_web_server_takes_its_colleagues_off_shift(broker, phub, listener, tmp_path):
    port = free_port()
    config = tmp_path / "staffcall.toml"
    config.write_text(phones_toml(broker.port, str(tmp_path / "staffcall.db"), str(tmp_path), web_port=port))
    web = start_web(config, port)
    try:
        anna, ben = sign_in(port, "anna"), sign_in(port, "ben")
        set_presence(anna, "on_shift")
        set_presence(ben, "on_shift")
        set_presence(ben, "off")
        listener.wait_for(lambda m: m.topic == PRESENCE.format("ben") and m.json == {"status": "off"})
        time.sleep(1.0)  # Anna's Will connection is up (it connects at once; the broker is local)
        start = len(listener.messages)
        os.kill(web.pid, signal.SIGKILL)
        web.wait(5)
        offline = listener.wait_for(lambda m: m.topic == PRESENCE.format("anna"), timeout=5, start=start)
        assert offline.json == {"status": "offline"}
        late = Listener(broker.port, [PRESENCE.format("anna")])  # it is retained: a pager starting now sees it
        try:
            assert late.wait_for(lambda m: m.retain).json == {"status": "offline"}
        finally:
            late.close()
        phub.settle()
        assert phub.core.router.status("anna") == "offline"
        time.sleep(0.5)
        assert not [m for m in listener.messages[start:] if m.topic == PRESENCE.format("ben")], "Ben was off"
    finally:
        if web.poll() is None:
            web.kill()
            web.wait(5)


def test_graceful_stop_still_says_offline_once(broker, phub, listener, tmp_path):
    port = free_port()
    config = tmp_path / "staffcall.toml"
    config.write_text(phones_toml(broker.port, str(tmp_path / "staffcall.db"), str(tmp_path), web_port=port))
    web = start_web(config, port)
    anna = sign_in(port, "anna")
    set_presence(anna, "on_shift")
    listener.wait_for(lambda m: m.topic == PRESENCE.format("anna") and m.json == {"status": "on_shift"})
    time.sleep(1.0)
    start = len(listener.messages)
    web.send_signal(signal.SIGTERM)
    assert web.wait(15) in (0, -signal.SIGTERM), web.stderr.read()  # uvicorn re-raises the signal it handled
    listener.wait_for(lambda m: m.topic == PRESENCE.format("anna"), timeout=5, start=start)
    time.sleep(1.0)
    said = [m.json for m in listener.messages[start:] if m.topic == PRESENCE.format("anna")]
    assert said == [{"status": "offline"}], said
