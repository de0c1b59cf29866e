"""Power cut of the hub machine, simulated: kill -9 mid-write, then torn WAL tails; the database opens clean."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import threading
import time

from tests.faults.helpers import lost_and_duplicates, presses, record, start_hub, stop, wait, write_store

DEVICES = 300


def integrity(path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def test_kill_mid_write_leaves_a_clean_database_and_loses_nothing_acknowledged(broker, listener, tmp_path):
    devices = [f"p{i}" for i in range(DEVICES)]
    config = write_store(tmp_path / "staffcall.toml", broker.port, [(d, "button") for d in devices])
    db = tmp_path / "staffcall.db"
    listener.publish("staffcall/s1/staff/anna/presence", {"status": "on_shift"}, retain=True)
    hub = start_hub(config)
    assert wait(lambda: any(m.payload == b"online" for m in list(listener.messages) if m.topic.endswith("hub/status")))
    sent = [f"{d}-c" for d in devices]
    infos = []

    def burst() -> None:
        for d, call_id in zip(devices, sent, strict=True):
            infos.append(listener.client.publish(f"staffcall/s1/call/{d}", f'{{"id": "{call_id}"}}', qos=1))
            time.sleep(0.001)

    thread = threading.Thread(target=burst)
    thread.start()
    restarted = None
    try:
        assert wait(lambda: len(presses(db)[0]) >= 60, 20)
        os.kill(hub.pid, signal.SIGKILL)  # while the writer commits batch after batch
        hub.wait()
        thread.join(30)
        # A power cut can also tear the last WAL write: SQLite must ignore a partial frame at any offset.
        wal = db.with_name(db.name + "-wal")
        torn_ok = 0
        if wal.exists() and wal.stat().st_size:
            rng = random.Random(7)
            for n in range(5):
                copy = tmp_path / f"torn{n}.db"
                shutil.copy(db, copy)
                shutil.copy(wal, copy.with_name(copy.name + "-wal"))
                with open(copy.with_name(copy.name + "-wal"), "r+b") as f:
                    f.truncate(rng.randrange(32, wal.stat().st_size))
                assert integrity(copy) == "ok"
                torn_ok += 1
        # (copies first: opening the live file checkpoints and removes its WAL)
        committed = set(presses(db)[0])
        assert len(committed) < DEVICES, "the burst was over before the kill"
        assert integrity(db) == "ok"
        assert torn_ok == 5, "no WAL was left by the killed hub; the torn-write check did not run"
        # What the hub acknowledged is committed; what it did not is still queued in the broker for it.
        restarted = start_hub(config)
        for info in infos:
            info.wait_for_publish(20)
        assert wait(lambda: len(presses(db)[0]) >= DEVICES, 30), f"{len(presses(db)[0])} of {DEVICES}"
        assert committed <= set(presses(db)[0])
        lost, dups = lost_and_duplicates(sent, db)
        assert (lost, dups) == (0, 0)
        assert integrity(db) == "ok"
        record(
            "hub power cut (kill -9 mid-write)",
            f"{DEVICES} calls from {DEVICES} button stations",
            f"kill -9 of the hub while writing ({len(committed)} committed); {torn_ok} copies with a torn WAL tail",
            DEVICES,
            lost,
            dups,
            "PRAGMA integrity_check ok after the kill and on every torn copy; the rest arrived after restart",
            phantom=len(set(presses(db)[0]) - set(sent)),
        )
    finally:
        thread.join(30)
        stop(hub)
        if restarted:
            stop(restarted)
