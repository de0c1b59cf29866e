"""The integrations' host on the store's broker: each integration its own thread, acks after all handled."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from broker.integrations.host import IntegrationHost
from tests.security.conftest import peer, start_secure_store


class Recorder:
    def __init__(self, name: str, topics: list[str], delay_s: float = 0.0) -> None:
        self.name, self._topics, self.delay_s = name, topics, delay_s
        self.seen: list[tuple[str, bytes, bool]] = []
        self.started = threading.Event()

    def topics(self) -> list[str]:
        return self._topics

    def start(self, host) -> None:
        self.started.set()

    def handle(self, topic: str, payload: bytes, retained: bool) -> None:
        time.sleep(self.delay_s)
        self.seen.append((topic, payload, retained))

    def stop(self) -> None:
        pass


def wait(pred, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_a_slow_integration_delays_only_itself(tmp_path: Path):
    store = start_secure_store(tmp_path)
    slow = Recorder("slow", ["state/+"], delay_s=2.0)
    fast = Recorder("fast", ["state/+", "summary"])
    host = IntegrationHost(store.cfg, [slow, fast]).start()
    hub = peer(store.cfg, "hub")
    try:
        assert host.connected.wait(10) and slow.started.is_set()
        time.sleep(0.3)  # the SUBACK
        hub.publish("staffcall/s1/state/c1", b'{"id": "c1"}')
        hub.publish("staffcall/s1/summary", b"{}")
        assert wait(lambda: len(fast.seen) == 2, 5), fast.seen
        assert slow.seen == []  # still asleep on its first message: only it waits
        assert wait(lambda: len(slow.seen) == 1, 10)
        assert [t for t, _, _ in fast.seen] == ["staffcall/s1/state/c1", "staffcall/s1/summary"]
    finally:
        host.stop()
        hub.close()
        store.broker.stop()


def test_the_integrations_login_does_not_read_customers_calls(tmp_path: Path):
    store = start_secure_store(tmp_path)
    rec = Recorder("rec", ["call/+"])
    host = IntegrationHost(store.cfg, [rec]).start()
    kiosk = peer(store.cfg, "device:kiosk-1")
    try:
        assert host.connected.wait(10)
        time.sleep(0.3)
        kiosk.publish("staffcall/s1/call/kiosk-1", b'{"id": "c1"}')
        time.sleep(1.0)
        assert rec.seen == []  # the ACL gives it no customer's call: it sees what the hub tells
    finally:
        host.stop()
        kiosk.close()
        store.broker.stop()
