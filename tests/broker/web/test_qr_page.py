"""The customer's QR page in Chromium at 390x844, against the store's secured Mosquitto, the hub and the web server.

The colleague's side (presence, On my way, greet, resolve) is published with that colleague's own
login, as their pager app would (``SecureListener``).
"""

from __future__ import annotations

import json
import re
import sqlite3

import httpx
import pytest
from playwright.sync_api import expect

from tests.broker.web.conftest import key

T = "staffcall/s1"


@pytest.fixture
def web(secure_web):
    return secure_web.web


@pytest.fixture
def listener(secure_web):
    return secure_web.listener


def new_call(listener, start: int = 0) -> dict:
    return listener.wait_for(lambda m: m.topic == f"{T}/call/qr-paint", start=start).json


def test_call_status_cancel_and_rejoin_after_reload(web, listener, new_phone):
    listener.publish(f"{T}/staff/anna/presence", {"status": "on_shift"}, retain=True)
    page = new_phone()
    page.goto(web.qr_url("qr-paint"))
    expect(page.locator("#label")).to_have_text("Paint, aisle 7")
    page.fill("#text", "Blue  paint,\nsemi-gloss")
    page.click("[data-reason=product]")
    msg = new_call(listener)
    assert msg["reason"] == "product" and msg["text"] == "Blue paint, semi-gloss"
    call_id = msg["id"]
    page_msg = listener.page("anna", call_id)
    assert page_msg["customer_text"] == "Blue paint, semi-gloss" and page_msg["label"] == "Paint, aisle 7"
    expect(page.locator("#w-headline")).to_have_text("Your call is sent")
    expect(page.locator("#w-who")).to_have_text("We have asked Anna (Summer substitute) to come")
    # The colleague acknowledges: the customer sees the name and the estimate, as on the kiosk.
    listener.publish(f"{T}/staff/anna/ack", {"id": call_id})
    listener.state(call_id, "acknowledged")
    expect(page.locator("#w-who")).to_have_text("Anna (Summer substitute) is on the way")
    expect(page.locator("#w-eta")).to_have_text("about 1 minute")

    # The waiting time ticks on the phone between the server's pushes.
    def waited() -> int:
        m, sec = re.search(r"(\d+):(\d\d)", page.locator("#w-elapsed").inner_text()).groups()
        return int(m) * 60 + int(sec)

    before = waited()
    page.wait_for_timeout(2300)
    assert waited() >= before + 2
    # Reload: the same call comes back from localStorage and the server's state.
    page.reload()
    expect(page.locator("#w-who")).to_have_text("Anna (Summer substitute) is on the way")
    assert json.loads(page.evaluate("localStorage.getItem('staffcall:qr-paint')"))["call"] == call_id
    page.click("#cancel")
    listener.state(call_id, "cancelled")
    expect(page.locator("#m-headline")).to_have_text("Your call is cancelled")


def test_greeted_resolved_feedback_once(web, listener, new_phone):
    listener.publish(f"{T}/staff/anna/presence", {"status": "on_shift"}, retain=True)
    page = new_phone()
    page.goto(web.qr_url("qr-paint"))
    page.click("#call")
    call_id = new_call(listener)["id"]
    listener.publish(f"{T}/staff/anna/greet", {"id": call_id})
    expect(page.locator("#m-headline")).to_have_text("Anna is here to help you")
    listener.publish(f"{T}/staff/anna/resolve", {"id": call_id, "outcome": "sale"})
    expect(page.locator("#f-headline")).to_have_text("How did we do?")
    page.click("[data-score='4']")
    fb = listener.wait_for(lambda m: m.topic == f"{T}/call/qr-paint/feedback").json
    assert fb == {"id": call_id, "score": 4}
    expect(page.locator("#m-headline")).to_have_text("Thank you!")
    page.reload()  # once: a reload does not offer the faces again
    expect(page.locator("#m-headline")).to_have_text("Thank you!")
    db = sqlite3.connect(web.cfg.database.path)
    listener.wait_for(lambda m: m.topic == f"{T}/summary", timeout=5)
    row = db.execute("select outcome, feedback_score from calls where id = ?", (call_id,)).fetchone()
    assert row == ("sale", 4)


def test_second_phone_follows_the_open_call_and_rate_limit(web, listener, new_phone):
    listener.publish(f"{T}/staff/anna/presence", {"status": "on_shift"}, retain=True)
    first, second = new_phone(), new_phone()
    first.goto(web.qr_url("qr-paint"))
    first.click("#call")
    call_id = new_call(listener)["id"]
    expect(first.locator("#cancel")).to_be_visible()
    # The same phone again: the same call, no second press.
    first.evaluate("document.querySelector('#call').click()")
    n = len(listener.messages)
    second.goto(web.qr_url("qr-paint"))
    second.click("#call")
    press = new_call(listener, start=n)
    assert press["id"] != call_id  # a repeat press on the open call
    # The hub republishes a call's state for presses at most once a second; the call point resends
    # its kept press until a state shows it counted (broker/callpoint/callpoint.py): allow for both.
    state = listener.wait_for(
        lambda m: m.topic == f"{T}/state/{call_id}" and m.json["repeat_presses"] == 1, timeout=25
    ).json
    assert state["status"] == "waiting"
    expect(second.locator("#w-note")).to_contain_text("Someone here has already called.")
    expect(second.locator("#cancel")).to_be_hidden()
    assert not [m for m in listener.messages if m.topic == f"{T}/state/{call_id}" and m.json["repeat_presses"] > 1]
    # The second phone calls from another sign within 120 s: refused, with the wait.
    second.goto(web.qr_url("qr-toys"))
    second.click("#call")
    expect(second.locator("#error")).to_contain_text("You can call again in")


def test_bad_keys_are_refused_and_recorded(web, listener, new_phone):
    page = new_phone()
    page.goto(f"{web.url}/c/qr-paint?k=wrongwrongwrong1&lang=en")
    expect(page.locator("h1")).to_have_text("This link does not work")
    page.goto(f"{web.url}/c/qr-paint")
    expect(page.locator("h1")).to_have_text("This link does not work")
    page.goto(f"{web.url}/c/kiosk-1?k={key('kiosk-1')}")  # not a QR device
    expect(page.locator("p")).to_contain_text("not in use")
    r = httpx.post(f"{web.url}/c/qr-paint/call", json={"k": "nope"})
    assert r.status_code == 403
    db = sqlite3.connect(web.cfg.database.path)
    import time

    deadline = time.monotonic() + 5
    rows = []
    while time.monotonic() < deadline and len(rows) < 4:
        rows = db.execute("select topic, payload from rejected where topic like '%bad_key'").fetchall()
        time.sleep(0.05)
    assert len(rows) == 4
    assert {json.loads(p)["why"] for _, p in rows} == {"wrong QR key", "missing QR key", "unknown QR device"}
    assert not [m for m in listener.messages if m.topic == f"{T}/call/qr-paint"]


def test_payloads_validated_and_oversized_text(web, listener):
    k = key("qr-paint")
    with httpx.Client(base_url=web.url) as c:
        c.get(f"/c/qr-paint?k={k}")  # the phone cookie
        assert c.post("/c/qr-paint/call", content=b"{not json").status_code == 400
        assert c.post("/c/qr-paint/call", json={"k": k, "evil": 1}).status_code == 400
        assert c.post("/c/qr-paint/call", json={"k": k, "reason": "x" * 30}).status_code == 400
        r = c.post("/c/qr-paint/call", json={"k": k, "text": "a" * 201})
        assert r.status_code == 400 and r.json()["error"] == "too_long"
        assert c.post("/c/qr-paint/call", content=b"x" * 5000).status_code == 413
        assert c.post("/c/qr-paint/cancel", json={"k": k, "call": "qr-paint-x-1", "token": "t"}).status_code == 403
        # Without the cookie the server cannot tell phones apart: refused.
        assert httpx.post(f"{web.url}/c/qr-paint/call", json={"k": k}).json()["error"] == "no_cookies"
        r = c.post("/c/qr-paint/call", json={"k": k, "text": "<b>hi</b>"})
        assert r.status_code == 200
    assert new_call(listener)["text"] == "<b>hi</b>"  # plain text on the wire; staff page shows it as text
    view = httpx.get(f"{web.url}/c/qr-paint/view.json", params={"k": k, "call": r.json()["call"]}).json()
    assert view["screen"] == "waiting" and view["mine"] is False
