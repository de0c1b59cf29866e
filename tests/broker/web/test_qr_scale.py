"""Hundreds of QR signs on one web server (issue #13): one MQTT connection for all, through the secured broker.

Before, the server held one paho client (socket, wake-up pair, network thread) and one
SQLite outbox per QR device; past ~1,000 file descriptors paho's ``select()`` failed and
clients silently never connected.  Here 300 QR points each make a call through the web
server, each call reaches the hub, and the server's file descriptors stay few.
"""

from __future__ import annotations

import os
import sqlite3
import time

import httpx
import pytest

from broker.callpoint.callpoint import CallPointGroup
from broker.hub.shell import Hub
from tests.broker.web.conftest import SecurePhones, key, start_secure_phones_store

QR_POINTS = 300


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def wait_until(what: str, done, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def many(tmp_path):
    before = open_fds()
    s = SecurePhones(tmp_path, qr_points=QR_POINTS)
    s.fds_before = before
    yield s
    s.stop()


def test_300_qr_points_all_call_through_one_connection(many):
    web = many.web
    assert web.phones.qr.ready(), "every QR point is connected"
    # The hub, the board's feed, the phones' client and the QR points' one connection: a few dozen, not thousands.
    used = open_fds() - many.fds_before
    assert used < 80, f"{used} file descriptors for {QR_POINTS} QR points"
    devices = [f"qr-{n:03d}" for n in range(QR_POINTS)]
    calls: dict[str, str] = {}
    # Each customer as their phone does it: open the sign's page (gets the phone's cookie), tap Call.
    # All these phones share the test's one address, which [web] calls_per_ip would stop after 10
    # calls: lifted for this test only (the limit has its own test in test_qr_page.py).
    web.phones.limiter.per_ip = 10**6
    for device in devices:
        with httpx.Client(base_url=web.url, timeout=30) as phone:
            assert phone.get(f"/c/{device}", params={"k": key(device), "lang": "en"}).status_code == 200
            r = phone.post(f"/c/{device}/call", json={"k": key(device), "reason": "product"})
            assert r.status_code == 200, r.text
            calls[device] = r.json()["call"]
    db = sqlite3.connect(many.cfg.database.path)

    def at_hub() -> int:
        return db.execute("select count(*) from calls where device like 'qr-%'").fetchone()[0]

    wait_until(f"{QR_POINTS} calls at the hub (have {at_hub()})", lambda: at_hub() >= QR_POINTS, 90)
    rows = dict(db.execute("select id, device from calls where device like 'qr-%'").fetchall())
    assert {rows[c] for c in calls.values()} == set(devices), "each call came from its own QR point"
    outbox = web.phones.qr.group.file
    # The hub answered each call with its state: nothing is left to resend.
    wait_until(
        "every QR outbox confirmed",
        lambda: outbox.conn.execute("select count(*) from outbox where confirmed = 0").fetchone()[0] == 0,
        30,
    )
    assert open_fds() - many.fds_before < 80


def test_a_qr_call_made_while_offline_is_kept_and_sent_once_connected(tmp_path):
    store = start_secure_phones_store(tmp_path)
    hub = Hub(store.cfg)
    hub.start()
    try:
        assert hub.ready.wait(20)
        states = []
        group = CallPointGroup(
            store.cfg,
            ["qr-paint", "qr-toys"],
            str(tmp_path / "qr.outbox.db"),
            identity="phones",
            client_id="test-qr-group",
            on_state=lambda call_id, state: states.append((call_id, state.device, state.status)),
        )
        call = group.points["qr-toys"].call(reason="product")  # not connected yet: kept in the outbox
        assert group.points["qr-toys"].outbox.pending_count() == 1
        assert group.points["qr-paint"].outbox.pending_count() == 0  # one file, each device its own rows
        group.start()
        wait_until("the call's state", lambda: (call, "qr-toys", "waiting") in states, 20)
        wait_until("the outbox confirmed", lambda: group.points["qr-toys"].outbox.pending_count() == 0, 10)
        group.stop()
    finally:
        hub.stop()
        store.broker.stop()


def test_an_outbox_of_the_one_file_per_sign_layout_is_imported_once(tmp_path):
    from broker.callpoint.outbox import Outbox
    from broker.web.qrdesk import import_old_outbox

    old_path = tmp_path / "qr-paint.outbox.db"
    db = sqlite3.connect(old_path)  # the schema before devices shared a file: no device column
    db.execute(
        "create table outbox (seq integer primary key, call_id text not null, action text not null,"
        " topic text not null, payload blob not null, created_at text not null, sent integer not null default 0,"
        " confirmed integer not null default 0)"
    )
    db.execute(
        "create table calls (call_id text primary key, created_at text not null,"
        " status text not null default 'waiting', state blob)"
    )
    db.execute("insert into calls (call_id, created_at) values ('qr-paint-1-a', '2026-01-01T10:00:00.000Z')")
    db.execute(
        "insert into outbox (call_id, action, topic, payload, created_at) values"
        " ('qr-paint-1-a', 'call', 'staffcall/s1/call/qr-paint', '{\"id\": \"qr-paint-1-a\"}', '2026-01-01')"
    )
    db.commit()
    db.close()
    shared = Outbox(str(tmp_path / "qr.outbox.db"))
    import_old_outbox(old_path, shared, "qr-paint")
    paint = Outbox("", "qr-paint", share=shared)
    assert [row[1] for row in paint.unconfirmed()] == ["qr-paint-1-a"] and paint.open_call()[0] == "qr-paint-1-a"
    assert Outbox("", "qr-toys", share=shared).pending_count() == 0
    assert not old_path.exists() and (tmp_path / "qr-paint.outbox.db.imported").exists()
    import_old_outbox(old_path, shared, "qr-paint")  # a restart: nothing twice
    assert paint.pending_count() == 1
    # A device's own file of the old layout (a kiosk's) opens as before: its rows are the device's.
    kiosk = Outbox(str(tmp_path / "qr-paint.outbox.db.imported"))
    assert kiosk.pending_count() == 1
