"""The staff web app in Chromium at 390x844, against the store's secured broker (logins, ACL).

Every step a colleague takes is a tap on a visible button: the page arrives, On my way,
Greeted, Resolved with an outcome, Take from the open calls, and a dropped connection
that takes them off the routing.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time

import httpx
import pytest
from playwright.sync_api import expect

from tests.broker.web.conftest import SecurePhones, staff_sign_in
from tests.security.conftest import peer

T = "staffcall/s1"
ZONES = """
[[zones]]
id = "electronics"
name = "Electronics"
names = { sv = "Elektronik" }
"""


@pytest.fixture
def store(tmp_path):
    s = SecurePhones(tmp_path, extra=ZONES)
    yield s
    s.stop()


def sign_in(page, url: str, staff: str) -> None:
    """Signed in and on shift."""
    staff_sign_in(page, url, staff)
    page.click("[data-status=on_shift]")


def on_shift(store: SecurePhones, staff: str) -> None:
    topic = f"{T}/staff/{staff}/presence"
    store.monitor.wait_for(lambda t, b: t == topic and b and json.loads(b) == {"status": "on_shift"}, 10)


def call_from(store: SecurePhones, device: str) -> str:
    _, payload = store.monitor.wait_for(lambda t, b: t == f"{T}/call/{device}" and b, 10)
    return json.loads(payload)["id"]


def hub_row(store: SecurePhones, call_id: str, done, timeout: float = 15.0) -> dict:
    """The call's row in the hub's database once ``done(row)`` (the hub writes after it publishes)."""
    db = sqlite3.connect(store.cfg.database.path)
    db.row_factory = sqlite3.Row
    deadline = time.monotonic() + timeout
    while True:
        row = db.execute("select * from calls where id = ?", (call_id,)).fetchone()
        if row is not None and done(dict(row)):
            return dict(row)
        assert time.monotonic() < deadline, f"hub row for {call_id}: {row and dict(row)}"
        time.sleep(0.1)


def test_page_on_my_way_greeted_resolved_all_from_the_phone(store, new_phone):
    staff = new_phone()
    sign_in(staff, store.web.url, "anna")
    on_shift(store, "anna")
    customer = new_phone()
    customer.goto(store.web.qr_url("qr-paint"))
    expect(customer.locator("#zone")).to_have_text("Department: Electronics")  # [[zones]] name, not the id
    customer.fill("#text", "<i>size 42</i>")
    customer.click("[data-reason=product]")
    call_id = call_from(store, "qr-paint")
    expect(staff.locator("#alert")).to_be_visible(timeout=10_000)
    expect(staff.locator("#a-where")).to_have_text("Paint, aisle 7")
    expect(staff.locator("#a-zone")).to_have_text("Zone: Electronics")
    expect(staff.locator("#a-text")).to_have_text("<i>size 42</i>")  # plain text, not markup
    expect(staff.locator("#a-wait")).to_have_text(re.compile(r"0:0[2-9]"), timeout=6000)  # ticking
    staff.get_by_role("button", name="On my way").click()
    assert store.state(call_id, "acknowledged")["staff"] == "anna"
    expect(staff.locator("#alert")).to_be_hidden()
    # The call stays on screen as mine, its next step one big button.
    mine = staff.locator(f"#my-calls li[data-call='{call_id}']")
    expect(mine).to_contain_text("Paint, aisle 7 · Electronics")
    expect(staff.locator("#calls li")).to_have_count(0)  # not twice: mine are not among the others
    mine.get_by_role("button", name="Greeted").click()
    store.state(call_id, "greeted")
    expect(customer.locator("#m-headline")).to_have_text("Anna is here to help you")
    mine.get_by_role("button", name="Resolved").click()
    expect(mine.locator(".outcome-title")).to_have_text("How did it go?")  # the store's outcomes, as the pager
    mine.get_by_role("button", name="sale").click()
    store.state(call_id, "resolved")
    expect(staff.locator("#mine")).to_be_hidden()
    row = hub_row(store, call_id, lambda r: r["closed_at"] is not None)
    assert row["acknowledged_at"] and row["greeted_at"] and row["closed_at"]
    assert row["staff"] == "anna" and row["outcome"] == "sale" and row["status"] == "resolved"
    assert row["time_to_greet_s"] is not None and row["time_to_greet_s"] >= 0  # measured from the phone
    # Bad sign-ins and actions are refused clearly.
    assert httpx.post(f"{store.web.url}/staff/api/login", json={"staff": "ben", "pin": "0000"}).status_code == 401
    r = httpx.post(f"{store.web.url}/staff/api/act", json={"action": "ack", "call": call_id})
    assert r.status_code == 401 and r.json()["message"] == "You are signed out. Sign in again."


def test_take_from_open_calls_then_resolve_without_outcome(store, new_phone):
    page = new_phone()
    sign_in(page, store.web.url, "ben")
    on_shift(store, "ben")
    anna = peer(store.cfg, "staff:anna")
    kiosk = peer(store.cfg, "device:kiosk-1")
    try:
        anna.publish(f"{T}/staff/anna/presence", b'{"status": "on_shift"}', retain=True)
        on_shift(store, "anna")
        kiosk.publish(f"{T}/call/kiosk-1", b'{"id": "c-take-1"}')
        store.state("c-take-1", "waiting")
        paged, _ = store.monitor.wait_for(lambda t, b: "/page/" in t and b and json.loads(b)["id"] == "c-take-1", 10)
        if paged.endswith("/ben"):
            page.get_by_role("button", name="On my way").click()
        else:
            page.locator("#calls li[data-call='c-take-1']").get_by_role("button", name="Take").click()
        assert store.state("c-take-1", "acknowledged")["staff"] == "ben"
        expect(page.locator("#calls li[data-call='c-take-1']")).to_have_count(0)  # mine now, no Take
        mine = page.locator("#my-calls li[data-call='c-take-1']")
        mine.get_by_role("button", name="Greeted").click()
        store.state("c-take-1", "greeted")
        mine.get_by_role("button", name="Resolved").click()
        mine.get_by_role("button", name="Skip").click()
        store.state("c-take-1", "resolved")
        row = hub_row(store, "c-take-1", lambda r: r["closed_at"] is not None)
        assert row["outcome"] is None and row["time_to_greet_s"] is not None
    finally:
        anna.close()
        kiosk.close()


def test_dropped_connection_goes_offline_and_the_call_is_rerouted(store, new_phone):
    page = new_phone()
    sign_in(page, store.web.url, "anna")
    on_shift(store, "anna")
    ben = peer(store.cfg, "staff:ben", [f"{T}/page/ben"])
    kiosk = peer(store.cfg, "device:kiosk-1")
    try:
        ben.publish(f"{T}/staff/ben/presence", b'{"status": "on_shift"}', retain=True)
        page.context.set_offline(True)
        expect(page.locator("#banner")).to_contain_text("Cannot reach the store", timeout=8000)
        offline = f"{T}/staff/anna/presence"
        store.monitor.wait_for(lambda t, b: t == offline and b and json.loads(b) == {"status": "offline"}, 10)
        kiosk.publish(f"{T}/call/kiosk-1", b'{"id": "c-drop-1"}')
        ben.wait_for(lambda t, b: t == f"{T}/page/ben" and json.loads(b)["id"] == "c-drop-1", 10)  # at once
        n = len(store.monitor.topics())
        page.context.set_offline(False)

        def back(t: str, b: bytes) -> bool:
            return t == offline and b and json.loads(b) == {"status": "on_shift"}

        deadline = time.monotonic() + 15
        while not [m for m in store.monitor.messages[n:] if back(*m)]:
            assert time.monotonic() < deadline, "anna's presence did not come back"
            time.sleep(0.1)
        expect(page.locator("#banner")).to_be_hidden(timeout=10_000)
    finally:
        ben.close()
        kiosk.close()
