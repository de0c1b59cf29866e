"""A login holds only its own sessions: a device that connects with the hub's client id cannot unseat the hub."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from broker.contract.credentials import login
from tests.security.conftest import peer

T = "staffcall/s1"


def test_a_device_login_with_the_hubs_client_id_does_not_disturb_the_hub(secure, secure_hub):
    monitor = peer(secure.cfg, "monitor", [f"{T}/#"])
    connack: list = []
    answered = threading.Event()
    for clean in (True, False):  # a fresh session, and an attempt to resume (and drain) the hub's
        intruder = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="staffcall-hub-s1", clean_session=clean, protocol=mqtt.MQTTv311
        )
        intruder.username_pw_set(*login(secure.cfg.broker.credentials, "device:kiosk-1"))
        intruder.on_connect = lambda c, u, f, rc, p: (connack.append(rc), answered.set())
        answered.clear()
        intruder.connect("127.0.0.1", secure.cfg.broker.port)
        intruder.loop_start()
        assert answered.wait(10), "no CONNACK"
        if not connack[-1].is_failure:  # let in as itself: now prove it changed nothing
            intruder.publish(f"{T}/device/kiosk-1/status", "marker", qos=1).wait_for_publish(5)
            monitor.wait_for(lambda t, m: m == b"marker", timeout=10)
        intruder.disconnect()
        intruder.loop_stop()
    try:
        offline = [m for t, m in monitor.messages if t == f"{T}/hub/status" and m != b"online"]
        assert not offline, f"the hub's Will fired: {offline}"
        assert secure_hub.client.is_connected(), "the hub lost the broker"
    finally:
        monitor.close()
