"""The real kiosk app under Xvfb, driven by taps and keys, against a real Mosquitto and hub."""

from __future__ import annotations

import sqlite_utils

from tests.kiosk.conftest import NOBODY_TEXT, on_shift
from tests.kiosk.harness import KioskProcess

CALL_TOPIC = "staffcall/s1/call/kiosk-1"


def only_anna(klistener, khub) -> None:
    on_shift(klistener, khub, "anna", off=("ben", "chloe", "maria"))


def tap_call(kiosk: KioskProcess, klistener, wid: str = "call_button") -> tuple[str, dict]:
    start = len(klistener.messages)
    kiosk.tap(wid)
    view = kiosk.wait_view(lambda v: v["screen"] == "waiting" and v["call_id"])
    msg = klistener.wait_for(lambda m: m.topic == CALL_TOPIC and m.json["id"] == view["call_id"], start=start)
    return view["call_id"], msg.json


def test_call_then_acknowledged_shows_who_is_coming_then_cancel(kiosk, klistener, khub):
    only_anna(klistener, khub)
    call_id, call = tap_call(kiosk, klistener)
    assert call["reason"] is None and call["lang"] == "en" and call["at"]
    kiosk.wait_text("Your call is sent")
    kiosk.wait_text("We have asked Anna (Summer substitute) to come")
    klistener.publish("staffcall/s1/staff/anna/ack", {"id": call_id})
    view = kiosk.wait_text("Anna (Summer substitute) is on the way")
    assert any(t.startswith("about") or t == "any moment now" for t in view["texts"]), view["texts"]
    start = len(klistener.messages)
    kiosk.tap("cancel_button")
    klistener.wait_for(lambda m: m.topic == CALL_TOPIC + "/cancel" and m.json["id"] == call_id, start=start)
    klistener.state(call_id, "cancelled")
    kiosk.wait_text("Your call is cancelled")
    kiosk.wait_view(lambda v: v["screen"] == "welcome")  # thanks_s = 1 in the test config


def test_staff_pin_greets_then_resolve_leads_to_feedback(kiosk, klistener, khub):
    only_anna(klistener, khub)
    call_id, call = tap_call(kiosk, klistener, "reason_fitting_room")
    assert call["reason"] == "fitting_room"
    kiosk.tap("staff_button")
    kiosk.wait_view(lambda v: v["pinpad"])
    for key in ("key_1", "key_ok"):
        kiosk.tap(key)
    kiosk.wait_text("Wrong PIN, try again")
    start = len(klistener.messages)
    for key in ("key_4", "key_7", "key_1", "key_1", "key_ok"):
        kiosk.tap(key)
    greet = klistener.wait_for(lambda m: m.topic == CALL_TOPIC + "/greet", start=start)
    assert greet.json["id"] == call_id
    klistener.state(call_id, "greeted")
    kiosk.wait_view(lambda v: v["screen"] == "greeted" and not v["pinpad"])
    kiosk.wait_text("Anna is here to help you")
    klistener.publish("staffcall/s1/staff/anna/resolve", {"id": call_id})
    kiosk.wait_view(lambda v: v["screen"] == "feedback" and not v["transition"])
    start = len(klistener.messages)
    kiosk.tap("face_4")
    fb = klistener.wait_for(lambda m: m.topic == CALL_TOPIC + "/feedback", start=start)
    assert fb.json == {"id": call_id, "score": 4}
    kiosk.wait_text("Thank you!")
    kiosk.wait_view(lambda v: v["screen"] == "welcome")


def test_feedback_is_skippable(kiosk, klistener, khub):
    only_anna(klistener, khub)
    call_id, _ = tap_call(kiosk, klistener)
    klistener.publish("staffcall/s1/staff/anna/resolve", {"id": call_id})
    kiosk.wait_view(lambda v: v["screen"] == "feedback" and not v["transition"])
    start = len(klistener.messages)
    kiosk.tap("skip_button")
    kiosk.wait_view(lambda v: v["screen"] == "welcome")
    assert not [m for m in klistener.messages[start:] if m.topic.endswith("/feedback")]


def test_nobody_on_shift_says_where_to_go(kiosk, klistener, khub):
    on_shift(klistener, khub, off=("anna", "ben", "chloe", "maria"))
    call_id, _ = tap_call(kiosk, klistener)
    kiosk.wait_text(NOBODY_TEXT)
    kiosk.tap("cancel_button")
    klistener.state(call_id, "cancelled")


def test_overdue_and_escalated_is_said_honestly(kiosk, klistener, khub):
    only_anna(klistener, khub)
    call_id, _ = tap_call(kiosk, klistener)
    state = klistener.state(call_id, "waiting")
    # The hub's own escalation is minutes away; publish what it would say at tier 3 (everyone paged, so
    # nobody named), with the estimate used up.
    tier3 = {"tier": 3, "staff": None, "staff_name": None, "staff_role": None, "eta_s": 0, "waited_s": 200}
    klistener.publish(f"staffcall/s1/state/{call_id}", {**state, **tier3})
    view = kiosk.wait_text("taking longer than we thought")
    assert any("All colleagues on shift have been alerted" in t for t in view["texts"])
    assert any("Waiting 3:2" in t for t in view["texts"]), view["texts"]
    kiosk.tap("cancel_button")
    klistener.state(call_id, "cancelled")


def test_enter_and_space_press_the_focused_call_button(kiosk, klistener, khub):
    only_anna(klistener, khub)
    assert kiosk.view()["call_focused"] is True
    for key in ("enter", "spacebar"):
        start = len(klistener.messages)
        kiosk.send(op="key", key=key)
        view = kiosk.wait_view(lambda v: v["screen"] == "waiting" and v["call_id"])
        klistener.wait_for(lambda m, v=view: m.topic == CALL_TOPIC and m.json["id"] == v["call_id"], start=start)
        kiosk.tap("cancel_button")
        kiosk.wait_view(lambda v: v["screen"] == "welcome" and v["call_focused"])


def test_language_switch_is_one_tap_and_resets_for_the_next_customer(kiosk, klistener, khub):
    kiosk.tap("lang_button")
    view = kiosk.wait_text("Ring personal")
    assert view["lang"] == "sv" and "English" in view["texts"]
    kiosk.tap("lang_button")
    kiosk.wait_text("Call staff")
    kiosk.tap("lang_button")
    kiosk.wait_text("Ring personal")
    kiosk.send(op="reset")
    kiosk.wait_text("Call staff")


def test_offline_call_is_kept_and_delivered_once_on_reconnect(kiosk, kbroker, klistener, khub):
    """Last in the module: it restarts the broker."""
    only_anna(klistener, khub)
    kbroker.kill()
    kiosk.wait_view(lambda v: not v["connected"])
    kiosk.tap("call_button")
    view = kiosk.wait_text("We are reconnecting - please ask at the checkout if nobody comes")
    call_id = view["call_id"]
    assert "Your call is saved" in view["texts"]
    kbroker.restart()
    kiosk.wait_view(lambda v: v["connected"], timeout=20)
    kiosk.wait_text("We have asked Anna (Summer substitute) to come", timeout=15)
    assert khub.settle()
    db = sqlite_utils.Database(khub.cfg.database.path)
    rows = list(db["calls"].rows_where("device = ? and status = 'waiting'", ["kiosk-1"]))
    assert [r["id"] for r in rows] == [call_id]
