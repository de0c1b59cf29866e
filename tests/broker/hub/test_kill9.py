"""`kill -9` the hub in the middle of a burst: no call is lost, none is doubled, timers resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import sqlite_utils

DEVICES = 1000


def write_store(path, port: int, db: str) -> None:
    lines = [
        '[store]\nid = "s1"\nname = "Kill test"\n',
        f"[broker]\nport = {port}\n",
        f'[database]\npath = "{db}"\n',
        "[timers]\nack_timeout_s = 1\nescalate_after_s = 30\nunattended_after_s = 600\n",
    ]
    for s in ("anna", "ben", "chloe"):
        lines.append(f'[[staff]]\nid = "{s}"\nname = "{s.title()}"\nzones = ["floor"]\n')
    for i in range(DEVICES):
        lines.append(f'[[devices]]\nid = "k{i}"\nkind = "kiosk"\nzone = "floor"\n')
    path.write_text("\n".join(lines))


def start_hub(config) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "broker.cli", "hub", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait(pred, timeout=20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_kill_9_mid_burst_loses_nothing(broker, listener, tmp_path):
    db = tmp_path / "staffcall.db"
    config = tmp_path / "staffcall.toml"
    write_store(config, broker.port, str(db))
    for s in ("anna", "ben", "chloe"):
        listener.publish(f"staffcall/s1/staff/{s}/presence", {"status": "on_shift"}, retain=True)
    online = lambda: [m for m in list(listener.messages) if m.topic == "staffcall/s1/hub/status"][-1:]  # noqa: E731
    # A first run creates the hub's persistent session; calls made while it is down queue up in the broker.
    first = start_hub(config)
    assert wait(lambda: online() and online()[0].payload == b"online")
    first.send_signal(signal.SIGTERM)
    first.wait(10)
    sent = [listener.client.publish(f"staffcall/s1/call/k{i}", f'{{"id": "call-{i}"}}', qos=1) for i in range(DEVICES)]
    for info in sent:
        info.wait_for_publish(20)
    paged = lambda: {m.json["id"] for m in list(listener.messages) if "/page/" in m.topic}  # noqa: E731
    # The hub comes back to a flood of queued calls; kill it while it works through them.
    hub = start_hub(config)
    assert wait(lambda: len(paged()) >= 5, 10)
    os.kill(hub.pid, signal.SIGKILL)
    hub.wait()
    assert len(paged()) < DEVICES, "the hub finished the burst before it was killed; the test proves nothing"
    restarted = start_hub(config)
    try:
        assert wait(lambda: len(paged()) == DEVICES, 30), f"paged {len(paged())} of {DEVICES}"
        rows = lambda: list(sqlite_utils.Database(str(db)).query("select id, status from calls"))  # noqa: E731
        assert wait(lambda: len(rows()) == DEVICES)
        ids = [r["id"] for r in rows()]
        assert sorted(ids) == sorted(f"call-{i}" for i in range(DEVICES)) and len(set(ids)) == len(ids)
        # timers resumed after the restart: unanswered calls move on to the next colleague
        assert wait(
            lambda: any(
                m.json and m.json.get("kind") == "next" for m in list(listener.messages) if "/page/" in m.topic
            ),
            10,
        )
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(10)
    received = list(
        sqlite_utils.Database(str(db)).query(
            "select count(distinct call_id) n from events where kind = 'received' and topic like 'staffcall/s1/call/%'"
        )
    )
    assert received[0]["n"] == DEVICES
