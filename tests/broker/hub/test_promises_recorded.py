"""The promises a customer was shown are on the call's row, and an older log gets them from its state events."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator

import pytest

from broker.hub.reportcells import derive_promises, rebuild
from broker.hub.shell import Hub
from broker.reports.metrics import open_metrics
from tests.security.conftest import SecureStore, peer, start_secure_store

T = "staffcall/s1"
COLUMNS = ("eta_first_s", "eta_ack_s", "eta_last_s")


@pytest.fixture
def store(tmp_path) -> Iterator[SecureStore]:
    """The store's broker as ``staffcall broker init`` writes it: logins and the ACL."""
    (tmp_path / "store").mkdir()
    s = start_secure_store(tmp_path / "store")
    yield s
    s.broker.stop()


def wait(pred, timeout=15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def promises(path: str, call_id: str) -> tuple:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM calls WHERE id = ?", [call_id]).fetchone()
    finally:
        conn.close()
    return tuple(row) if row else ()


def shown(path: str, call_id: str) -> list[dict]:
    """The states the hub logged for the call: what the customer's device received."""
    conn = sqlite3.connect(path)
    try:
        sql = "SELECT payload FROM events WHERE kind = 'state' AND call_id = ? ORDER BY id"
        return [json.loads(p) for (p,) in conn.execute(sql, [call_id])]
    finally:
        conn.close()


def test_the_call_row_carries_the_promises_shown_and_a_rebuild_derives_the_same(store, tmp_path):
    cfg = store.cfg
    db = cfg.database.path
    secure_hub = Hub(cfg)
    secure_hub.start()
    assert secure_hub.ready.wait(15), "the hub could not log in to the store's broker"
    anna = peer(cfg, "staff:anna", [f"{T}/page/anna"])
    kiosk = peer(cfg, "device:kiosk-1", [f"{T}/state/+"])
    try:
        anna.publish(f"{T}/staff/anna/presence", json.dumps({"status": "on_shift"}), retain=True)
        assert secure_hub.settle()
        kiosk.publish(f"{T}/call/kiosk-1", json.dumps({"id": "c1", "reason": "product"}))
        anna.wait_for(lambda t, p: t == f"{T}/page/anna", timeout=15)
        time.sleep(0.3)  # a later acknowledgement: its promise counts from the opening, not from zero
        anna.publish(f"{T}/staff/anna/ack", json.dumps({"id": "c1"}))
        kiosk.wait_for(lambda t, p: t.endswith("/c1") and b'"acknowledged"' in p, timeout=15)
        kiosk.publish(f"{T}/call/kiosk-1/greet", json.dumps({"id": "c1"}))
        kiosk.wait_for(lambda t, p: t.endswith("/c1") and b'"greeted"' in p, timeout=15)
        assert secure_hub.settle()
        assert wait(lambda: all(v is not None for v in promises(db, "c1")))
    finally:
        anna.close()
        kiosk.close()
        secure_hub.stop()
    first, ack, last = promises(db, "c1")
    states = [s for s in shown(db, "c1") if s.get("eta_s") is not None]
    assert states[0]["status"] == "waiting" and states[-1]["status"] == "acknowledged"
    # Seconds from the opening: what was shown (eta_s) counted from when it was shown (waited_s, whole seconds).
    assert states[0]["waited_s"] + states[0]["eta_s"] <= first < states[0]["waited_s"] + states[0]["eta_s"] + 1
    assert ack == last and ack > states[-1]["eta_s"]  # acknowledged after 0.3 s: counted from the opening
    assert abs(last - (states[-1]["waited_s"] + states[-1]["eta_s"])) < 1

    # An event log from before the calls carried them: the same promises, from the logged states.
    old = str(tmp_path / "old.db")
    src, conn = sqlite3.connect(db), sqlite3.connect(old)
    src.backup(conn)  # the hub's log is in WAL mode: a file copy could miss its last commits
    src.close()
    with conn:
        conn.execute("UPDATE calls SET eta_first_s = NULL, eta_ack_s = NULL, eta_last_s = NULL")
        conn.execute("UPDATE report_meta SET value = '3' WHERE key = 'version'")
    conn.close()
    m = open_metrics(old, cfg.store.timezone, cfg.store.target_greet_s)  # the report's upgrade on open
    derived = promises(old, "c1")
    assert derived == (first, ack, last) or all(
        abs(a - b) < 0.01 for a, b in zip(derived, (first, ack, last), strict=True)
    )
    m.conn.close()
    # --rebuild does it again, and leaves calls that carry their promises alone.
    conn = sqlite3.connect(old)
    conn.execute("UPDATE calls SET eta_ack_s = NULL, eta_last_s = NULL")
    conn.commit()
    assert derive_promises(conn) == 0
    conn.execute("UPDATE calls SET eta_first_s = NULL")
    conn.commit()
    rebuild(conn, cfg.store.timezone, time.time())
    assert all(abs(a - b) < 0.01 for a, b in zip(promises(old, "c1"), (first, ack, last), strict=True))
    conn.close()


def test_a_log_from_before_the_columns_gets_them_on_the_report_s_upgrade(tmp_path):
    """No ``eta_*`` columns at all (the hub not run since): the report adds and fills them."""
    path = str(tmp_path / "older.db")
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE calls (id TEXT PRIMARY KEY, device TEXT, zone TEXT, status TEXT, opened_at TEXT, "
        "opened_ts FLOAT, time_to_greet_s FLOAT, opened_mono FLOAT)"
    )
    conn.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, ts TEXT, mono FLOAT, kind TEXT, topic TEXT, "
        "call_id TEXT, staff TEXT, device TEXT, payload TEXT)"
    )
    conn.execute(
        "INSERT INTO calls VALUES ('c1', 'k1', 'toys', 'resolved', '2026-03-02T09:00:00.000Z', "
        "1772442000.0, 70.0, 100.0)"
    )
    states = [("waiting", 0, 60, 100.2), ("waiting", 40, 45, 140.5), ("acknowledged", 50, 15, 150.9)]
    for status, waited, eta, mono in states:
        payload = json.dumps({"id": "c1", "status": status, "waited_s": waited, "eta_s": eta})
        conn.execute("INSERT INTO events (kind, call_id, mono, payload) VALUES ('state', 'c1', ?, ?)", [mono, payload])
    conn.execute("INSERT INTO events (kind, call_id, mono, payload) VALUES ('state', 'c1', 170, '{not json')")
    conn.commit()
    conn.close()
    m = open_metrics(path, "Europe/Stockholm", 60)
    assert promises(path, "c1") == (60.2, 65.9, 65.9)
    m.conn.close()
