"""kill -9 the hub during a burst of 1,000 presses from 50 devices: every press recorded once, timers resume."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.faults.helpers import lost_and_duplicates, presses, record, rows, start_hub, stop, wait, write_store

DEVICES, PRESSES = 50, 20


def device_client(port: int, ident: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"fault-{ident}", protocol=mqtt.MQTTv311)
    c.max_inflight_messages_set(100)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def test_kill_9_hub_during_a_burst(broker, listener, tmp_path):
    devices = [f"d{i}" for i in range(DEVICES)]
    config = write_store(tmp_path / "staffcall.toml", broker.port, [(d, "kiosk") for d in devices])
    db = tmp_path / "staffcall.db"
    for s in ("anna", "ben", "chloe"):
        listener.publish(f"staffcall/s1/staff/{s}/presence", {"status": "on_shift"}, retain=True)
    hub = start_hub(config)
    assert wait(lambda: any(m.payload == b"online" for m in list(listener.messages) if m.topic.endswith("hub/status")))
    clients = [device_client(broker.port, d) for d in devices]
    sent: list[str] = []
    infos = []

    def burst() -> None:
        # One open call per device: its first press opens it, the other 19 are repeat presses.
        for r in range(PRESSES):
            for d, c in zip(devices, clients, strict=True):
                press = f"{d}-p{r}"
                sent.append(press)
                infos.append(c.publish(f"staffcall/s1/call/{d}", json.dumps({"id": press}), qos=1))
                time.sleep(0.001)

    # Recorded presses, not published states: repeat presses republish a call's state at most once a second.
    recorded = lambda: sum(len(x) for x in presses(db))  # noqa: E731
    thread = threading.Thread(target=burst)
    thread.start()
    restarted = None
    try:
        assert wait(lambda: recorded() >= 150, 20), "the hub answered nothing"
        os.kill(hub.pid, signal.SIGKILL)
        hub.wait()
        at_kill = len(sent)
        handled = sum(len(x) for x in presses(db))
        assert handled < DEVICES * PRESSES, "the burst was over before the kill; the test proves nothing"
        mark = len(listener.messages)
        restarted = start_hub(config)
        thread.join(60)
        for info in infos:
            info.wait_for_publish(20)
        total = DEVICES * PRESSES
        assert wait(lambda: sum(len(x) for x in presses(db)) >= total, 40), f"{presses(db)[0][:3]}..."
        lost, dups = lost_and_duplicates(sent, db)
        assert (lost, dups) == (0, 0)
        # every open call has been paged
        unpaged = rows(
            db,
            "select id from calls where status in ('waiting','acknowledged') and id not in "
            "(select call_id from events where kind = 'page')",
        )
        assert not unpaged, unpaged[:5]
        # timers resumed: nobody acknowledges, so after ack_timeout_s the next colleague is paged
        assert wait(
            lambda: any("/page/" in m.topic and m.json.get("kind") == "next" for m in list(listener.messages)[mark:]),
            15,
        ), "no escalation after the restart"
        calls, repeats = presses(db)
        record(
            "hub kill -9 mid-burst",
            f"{total} presses from {DEVICES} devices",
            f"kill -9 of the hub after {handled} recorded ({at_kill} sent), restart",
            total,
            lost,
            dups,
            f"{len(calls)} calls + {len(repeats)} repeat presses = {len(calls) + len(repeats)}; open calls paged; "
            "next-colleague pages after the restart",
            phantom=len(set(calls) - set(sent)),
        )
    finally:
        thread.join(60)
        for c in clients:
            c.disconnect()
            c.loop_stop()
        stop(hub)
        if restarted:
            stop(restarted)
