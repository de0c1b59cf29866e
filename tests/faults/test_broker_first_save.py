"""kill -9 of the store's broker right after the hub first connected (issue #13), then calls from plain devices.

A fresh broker knows the hub's persistent session only once it has saved it. Killed before that, the
restarted broker has no session and no subscription for the hub, so a plain QoS 1 device (an ESP32, a
Node-RED flow: no outbox, no resend after its PUBACK) loses every call it publishes until the hub is back.
The generated config saves on every change, so the session is on disk as soon as the hub has subscribed.
"""

from __future__ import annotations

import json
import re
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from broker.contract.config import load_config
from broker.contract.credentials import login
from broker.mosquitto.setup import start_store_broker
from tests.faults.helpers import CuttableLink, lost_and_duplicates, presses, record, start_hub, stop, wait
from tests.security.conftest import peer, write_secure_config

T = "staffcall/s1"
DEVICES, CALLS = ("kiosk-1", "kiosk-2", "button-1"), 30


def plain_device(cfg, device: str) -> mqtt.Client:
    """A device as an ESP32 or Node-RED flow is one: its own login, a clean session, QoS 1, no outbox."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"esp32-{device}", protocol=mqtt.MQTTv311)
    c.username_pw_set(*login(cfg.broker.credentials, f"device:{device}"))
    c.connect("127.0.0.1", cfg.broker.port)
    c.loop_start()
    return c


def test_kill_9_broker_before_its_first_save_loses_no_call_for_the_hub(tmp_path):
    path = write_secure_config(tmp_path, tls=False)
    cfg = load_config(path)
    _, broker = start_store_broker(cfg, tmp_path / "broker", log_file=tmp_path / "mosquitto.log", run_as="root")
    # The hub reaches the broker through a link we can hold down, so the calls below are surely published
    # while it is away (its reconnect back-off alone would make that a race).
    link = CuttableLink(cfg.broker.port)
    hub_config = tmp_path / "hub.toml"
    hub_config.write_text(re.sub(r"^port = \d+$", f"port = {link.port}", path.read_text(), count=1, flags=re.M))
    hub = start_hub(hub_config)
    monitor = peer(cfg, "monitor", [f"{T}/hub/status"])
    devices: list[mqtt.Client] = []
    sent: list[str] = []
    db = tmp_path / "staffcall.db"
    try:
        monitor.wait_for(lambda t, m: m == b"online", timeout=30)
        time.sleep(0.2)  # "shortly after": well before the old 10 s autosave
        link.cut()
        broker.kill()
        broker.start(allow_embedded=False)
        devices = [plain_device(cfg, d) for d in DEVICES]
        infos = []
        for i in range(CALLS):
            for d, c in zip(DEVICES, devices, strict=True):
                press = f"{d}-p{i}"
                sent.append(press)
                infos.append(c.publish(f"{T}/call/{d}", json.dumps({"id": press}), qos=1))
        for info in infos:
            info.wait_for_publish(20)
        assert all(info.is_published() for info in infos), "the restarted broker did not take every call"
        assert not presses(db)[0], "the hub was back before the calls: the test proves nothing"
        link.restore()
        wait(lambda: sum(len(x) for x in presses(db)) >= len(sent), 40)
        lost, dups = lost_and_duplicates(sent, db)
        record(
            "Mosquitto kill -9 before its first save",
            f"{len(sent)} calls (QoS 1) from {len(DEVICES)} plain devices (no outbox), store config (logins, ACL)",
            "kill -9 of a fresh broker 0.2 s after the hub connected; restart; calls published while the hub is away",
            len(sent),
            lost,
            dups,
            "the hub's persistent session was saved at its SUBSCRIBE (autosave_on_changes), so the calls waited",
            phantom=len(set(presses(db)[0]) - set(sent)),
        )
        assert (lost, dups) == (0, 0)
    finally:
        for c in devices:
            c.disconnect()
            c.loop_stop()
        monitor.close()
        stop(hub)
        link.close()
        broker.stop()
