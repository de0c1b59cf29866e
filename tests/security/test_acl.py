"""The generated setup on a real Mosquitto: nobody anonymous, every part only its own topics."""

from __future__ import annotations

import json
import stat

import msgspec
import sqlite_utils

from broker.contract.config import Config
from tests.security.conftest import peer

T = "staffcall/s1"


def with_broker(cfg: Config, **changes) -> Config:
    return msgspec.structs.replace(cfg, broker=msgspec.structs.replace(cfg.broker, **changes))


def marker(p, monitor, device: str = "kiosk-1") -> None:
    """Publish an allowed message after the denied ones; once the monitor has it, anything earlier has arrived."""
    p.publish(f"{T}/device/{device}/status", "online")
    monitor.wait_for(lambda t, m: t == f"{T}/device/{device}/status")


def test_anonymous_and_wrong_passwords_are_refused(secure):
    anonymous = peer(with_broker(secure.cfg, credentials=None), None)
    wrong = peer(with_broker(secure.cfg, credentials=None, username="_hub", password="guess"), None)
    ok = peer(secure.cfg, "board")
    try:
        assert anonymous.connack and anonymous.connack[0].is_failure, anonymous.connack
        assert wrong.connack and wrong.connack[0].is_failure, wrong.connack
        assert ok.connack and not ok.connack[0].is_failure
        print(f"anonymous: {anonymous.connack[0]}; wrong password: {wrong.connack[0]}; board login: {ok.connack[0]}")
    finally:
        for p in (anonymous, wrong, ok):
            p.close()


def test_credentials_file_is_private_and_passwords_hashed(secure):
    creds = secure.folder / "broker" / "credentials.toml"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    passwd = (secure.folder / "broker" / "passwd").read_text()
    assert "kiosk-1:$7$" in passwd and "_hub:$7$" in passwd  # PBKDF2-SHA512 hashes, no clear text
    for line in creds.read_text().splitlines()[3:]:
        assert line.split(" = ")[1].strip('"') not in passwd


def test_kiosk_cannot_ack_as_staff_nor_read_pages(secure, secure_hub):
    cfg = secure.cfg
    monitor = peer(cfg, "monitor", [f"{T}/#"])
    anna = peer(cfg, "staff:anna", [f"{T}/page/anna"])
    kiosk = peer(cfg, "device:kiosk-1", [f"{T}/#"])
    try:
        anna.publish(f"{T}/staff/anna/presence", json.dumps({"status": "on_shift"}), retain=True)
        kiosk.publish(f"{T}/call/kiosk-1", json.dumps({"id": "c1"}))
        anna.wait_for(lambda t, m: t == f"{T}/page/anna")
        kiosk.wait_for(lambda t, m: t == f"{T}/state/c1")
        kiosk.publish(f"{T}/staff/anna/ack", json.dumps({"id": "c1"}))
        kiosk.publish(f"{T}/call/kiosk-2", json.dumps({"id": "c2"}))  # another device's call
        marker(kiosk, monitor)
        assert f"{T}/staff/anna/ack" not in monitor.topics()
        assert f"{T}/call/kiosk-2" not in monitor.topics()
        assert not [t for t in kiosk.topics() if "/page/" in t or "/wear/" in t or "/staff/" in t]
        assert secure_hub.settle()
        db = sqlite_utils.Database(cfg.database.path)
        assert db.execute("select status from calls where id = 'c1'").fetchone()[0] == "waiting"
        assert db.execute("select count(*) from calls where id = 'c2'").fetchone()[0] == 0
        print(f"kiosk saw {len(kiosk.messages)} messages, none a page; its ack as anna and call as kiosk-2 dropped")
    finally:
        for p in (monitor, anna, kiosk):
            p.close()


def test_staff_cannot_act_as_a_colleague(secure, secure_hub):
    cfg = secure.cfg
    monitor = peer(cfg, "monitor", [f"{T}/#"])
    ben = peer(cfg, "staff:ben", [f"{T}/page/ben"])
    anna = peer(cfg, "staff:anna", [f"{T}/page/+", f"{T}/wear/+", f"{T}/shift/+"])
    kiosk = peer(cfg, "device:kiosk-2")
    try:
        ben.publish(f"{T}/staff/ben/presence", json.dumps({"status": "on_shift"}), retain=True)
        kiosk.publish(f"{T}/call/kiosk-2", json.dumps({"id": "t1"}))
        ben.wait_for(lambda t, m: t == f"{T}/page/ben")
        anna.publish(f"{T}/staff/ben/ack", json.dumps({"id": "t1"}))
        anna.publish(f"{T}/staff/ben/presence", json.dumps({"status": "off"}), retain=True)
        anna.publish(f"{T}/page/ben", json.dumps({"id": "t1"}))
        marker(kiosk, monitor, "kiosk-2")
        forged = [t for t in monitor.topics() if t in (f"{T}/staff/ben/ack", f"{T}/page/ben")]
        assert forged == [f"{T}/page/ben"], forged  # only the hub's own page
        assert not [t for t in anna.topics() if t.endswith("/ben")], "anna read ben's page"
        assert secure_hub.settle()
        db = sqlite_utils.Database(cfg.database.path)
        assert db.execute("select status from calls where id = 't1'").fetchone()[0] == "waiting"
        # anna acting as herself still works
        anna.publish(f"{T}/staff/anna/presence", json.dumps({"status": "break"}), retain=True)
        monitor.wait_for(lambda t, m: t == f"{T}/staff/anna/presence")
    finally:
        for p in (monitor, ben, anna, kiosk):
            p.close()


def test_web_server_sets_a_radio_pagers_presence_and_nothing_else(secure, secure_hub):
    """dave has a radio pager and no PIN: the web server (a manager's tap) may set his presence, nothing more."""
    cfg = secure.cfg
    monitor = peer(cfg, "monitor", [f"{T}/#"])
    phones = peer(cfg, "phones")
    kiosk = peer(cfg, "device:kiosk-2")
    try:
        phones.publish(f"{T}/staff/dave/presence", json.dumps({"status": "on_shift"}), retain=True)
        monitor.wait_for(lambda t, m: t == f"{T}/staff/dave/presence")
        phones.publish(f"{T}/staff/dave/ack", json.dumps({"id": "x1"}))  # not his presence
        phones.publish(f"{T}/staff/anna/presence", json.dumps({"status": "on_shift"}), retain=True)  # no pager
        phones.publish(f"{T}/staff/ben/presence", json.dumps({"status": "on_shift"}), retain=True)
        marker(kiosk, monitor, "kiosk-2")
        topics = monitor.topics()
        assert f"{T}/staff/dave/ack" not in topics
        assert f"{T}/staff/anna/presence" not in topics and f"{T}/staff/ben/presence" not in topics
        assert secure_hub.settle()
        assert secure_hub.core.router.status("dave") == "on_shift"
        assert secure_hub.core.router.status("anna") != "on_shift"
        gateway = peer(cfg, "gateway", [f"{T}/page/+"])
        try:
            kiosk.publish(f"{T}/call/kiosk-2", json.dumps({"id": "r1"}))  # toys: dave is the one on shift
            gateway.wait_for(lambda t, m: t == f"{T}/page/dave" and json.loads(m)["id"] == "r1")
        finally:
            gateway.close()
    finally:
        for p in (monitor, phones, kiosk):
            p.close()


def test_board_only_reads_and_gateway_declines_only_for_pager_wearers(secure, secure_hub):
    cfg = secure.cfg
    monitor = peer(cfg, "monitor", [f"{T}/#"])
    board = peer(cfg, "board", [f"{T}/#"])
    gateway = peer(cfg, "gateway", [f"{T}/page/+"])
    dave = peer(cfg, "staff:dave")
    kiosk = peer(cfg, "device:kiosk-2")
    try:
        dave.publish(f"{T}/staff/dave/presence", json.dumps({"status": "on_shift"}), retain=True)
        board.publish(f"{T}/call/kiosk-2", json.dumps({"id": "b1"}))
        board.publish(f"{T}/state/b1", json.dumps({"id": "b1"}))
        board.publish(f"{T}/staff/dave/presence", json.dumps({"status": "off"}))
        kiosk.publish(f"{T}/call/kiosk-2", json.dumps({"id": "g1"}))
        gateway.wait_for(lambda t, m: t == f"{T}/page/dave")
        board.wait_for(lambda t, m: t == f"{T}/state/g1")
        gateway.publish(f"{T}/staff/anna/decline", json.dumps({"id": "g1"}))
        gateway.publish(f"{T}/staff/dave/decline", json.dumps({"id": "g1", "reason": "transmitter timeout"}))
        monitor.wait_for(lambda t, m: t == f"{T}/staff/dave/decline")
        marker(kiosk, monitor, "kiosk-2")
        topics = monitor.topics()
        assert f"{T}/call/kiosk-2" in topics and f"{T}/state/b1" not in topics
        assert f"{T}/staff/anna/decline" not in topics
        assert topics.count(f"{T}/staff/dave/presence") == 1  # dave's own, not the board's
        assert not [t for t in board.topics() if "/page/" in t or "/call/" in t], "the board read pages or calls"
        assert secure_hub.settle()
        db = sqlite_utils.Database(cfg.database.path)
        assert db.execute("select count(*) from calls where id = 'b1'").fetchone()[0] == 0
    finally:
        for p in (monitor, board, gateway, dave, kiosk):
            p.close()
