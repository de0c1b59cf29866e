"""The staff app under Xvfb: PIN sign-in, and an action tapped offline that survives a restart of the app."""

import sqlite3

import pytest

from broker.contract.pins import hash_pin
from staff_pager.uidriver import PagerProcess
from tests.conftest import write_config
from tests.faults.helpers import CuttableLink, wait

T = "staffcall/s1"


def _config(tmp_path, port, pager_toml):
    path = write_config(tmp_path / "staffcall.toml", port=port, db=str(tmp_path / "unused.db"))
    text = path.read_text().replace(
        'id = "anna"\nname = "Anna"\n', f'id = "anna"\nname = "Anna"\npin_hash = "{hash_pin("4711")}"\n'
    )
    path.write_text(text + f"\n[pager]\n{pager_toml}\n")
    return path


def _presence(listener, staff, status, start=0):
    return listener.wait_for(
        lambda m: m.topic == f"{T}/staff/{staff}/presence" and m.json == {"status": status}, start=start
    )


def test_pin_sign_in_refuses_a_wrong_pin_and_admits_the_right_one(broker, hub, listener, xvfb, tmp_path):
    cfg = _config(tmp_path, broker.port, "require_pin = true")
    app = PagerProcess(cfg, xvfb.display, tmp_path / "kivy", "--lang", "en", "--staff", "anna")
    try:
        # --staff anna does not skip the PIN: the app waits on the sign-in screen.
        app.wait_text("Who are you?")
        app.tap(text="Anna")
        app.wait_text("PIN for Anna")
        app.type("1234")
        app.tap(text="Sign in")
        info = app.wait_text("Wrong PIN, try again")
        assert info["screen"] == "signin" and not info["connected"]
        app.shot(tmp_path / "pin-wrong.png")
        assert not [m for m in listener.messages if "/staff/anna/" in m.topic]  # nothing published
        app.type("4711")
        app.tap(text="Sign in")
        app.wait_view(lambda i: i["screen"] == "home" and i["connected"])
        app.tap(text="On shift")
        _presence(listener, "anna", "on_shift")
    finally:
        app.close()


def test_an_action_tapped_offline_survives_a_restart_and_goes_once(broker, hub, listener, xvfb, tmp_path):
    link = CuttableLink(broker.port)
    cfg = _config(tmp_path, link.port, "")
    store = tmp_path / "pager-state" / "pager-anna.db"

    def rows():
        with sqlite3.connect(store) as db:
            return db.execute("select action, call_id from actions").fetchall()

    app = PagerProcess(cfg, xvfb.display, tmp_path / "kivy", "--lang", "en", "--staff", "anna")
    restarted = None
    try:
        app.wait_view(lambda i: i["screen"] == "home" and i["connected"])
        app.tap(text="On shift")
        _presence(listener, "anna", "on_shift")
        hub.settle()
        listener.publish(f"{T}/call/kiosk-1", {"id": "c1", "reason": "product"})
        app.wait_view(lambda i: i["screen"] == "page" and i["flashing"])

        # The Wi-Fi drops; Anna taps On my way anyway, then the app is killed before the Wi-Fi returns.
        link.cut()
        app.wait_view(lambda i: not i["connected"])
        _presence(listener, "anna", "offline")
        app.tap(text="On my way")
        assert rows() == [("ack", "c1")]
        app.proc.kill()
        app.proc.wait(10)
        assert not any(m.topic == f"{T}/staff/anna/ack" for m in listener.messages)
        assert listener.state("c1", "waiting")  # the hub never heard of it

        link.restore()
        mark = len(listener.messages)
        restarted = PagerProcess(cfg, xvfb.display, tmp_path / "kivy", "--lang", "en", "--staff", "anna")
        state = listener.state("c1", "acknowledged", timeout=15)
        assert state["staff"] == "anna"
        assert wait(lambda: rows() == [], 5)  # confirmed by the hub's state: gone from disk
        restarted.wait_view(lambda i: i["connected"] and not i["flashing"])
        acks = [m for m in listener.messages[mark:] if m.topic == f"{T}/staff/anna/ack"]
        assert [m.json for m in acks] == [{"id": "c1"}]
    finally:
        for remote in (app, restarted):
            if remote is not None:
                remote.close()
        link.close()


@pytest.fixture(autouse=True)
def _no_stray_state(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative state folder could only land in this test's folder
