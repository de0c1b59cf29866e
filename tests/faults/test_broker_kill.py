"""kill -9 Mosquitto during a burst of calls from devices with outboxes: every call arrives once."""

from __future__ import annotations

import threading
import time

from broker.callpoint.callpoint import CallPoint
from broker.contract.config import load_config
from broker.hub.shell import Hub
from tests.faults.helpers import lost_and_duplicates, presses, record, wait, write_store

DEVICES = 100


def test_kill_9_mosquitto_during_a_burst(broker, listener, tmp_path):
    devices = [f"k{i}" for i in range(DEVICES)]
    config = write_store(tmp_path / "staffcall.toml", broker.port, [(d, "kiosk") for d in devices])
    cfg = load_config(config)
    db = tmp_path / "staffcall.db"
    hub = Hub(cfg)
    hub.start()
    assert hub.ready.wait(10)
    points = [CallPoint(cfg, d, str(tmp_path / f"{d}.outbox.db")) for d in devices]
    for point in points:
        point.start()
    assert wait(lambda: all(p.connected for p in points), 20)
    sent: list[str] = []

    def burst() -> None:
        for point in points:
            sent.append(point.call(reason="product"))
            time.sleep(0.01)

    thread = threading.Thread(target=burst)
    thread.start()
    try:
        assert wait(lambda: len(sent) >= DEVICES // 3, 20)
        broker.kill()
        killed_after = len(sent)
        recorded = len(presses(db)[0])
        time.sleep(0.5)
        broker.start(allow_embedded=False)
        thread.join(30)
        assert wait(lambda: len(presses(db)[0]) >= DEVICES, 40), f"{len(presses(db)[0])} of {DEVICES} arrived"
        assert wait(lambda: all(p.outbox.pending_count() == 0 for p in points), 30), "outboxes not confirmed"
        lost, dups = lost_and_duplicates(sent, db)
        assert (lost, dups) == (0, 0)
        assert hub.settle()
        resent = sum(
            p.outbox.conn.execute("select coalesce(sum(sent), 0) - count(*) from outbox").fetchone()[0] for p in points
        )
        record(
            "Mosquitto kill -9 mid-burst",
            f"{DEVICES} calls from {DEVICES} kiosks (CallPoint outboxes)",
            f"kill -9 of Mosquitto after {killed_after} calls ({recorded} recorded), restart 0.5 s later",
            DEVICES,
            lost,
            dups,
            f"{resent} resends from outboxes, answered idempotently",
            phantom=len(set(presses(db)[0]) - set(sent)),
        )
    finally:
        thread.join(30)
        for point in points:
            point.stop()
        hub.stop()
