"""The staff web app for everyone (issues 20 and 21): axe-core on every state, a keyboard-only colleague
(sign in, On shift, On my way, Greeted, Resolved), the page as a modal alert dialog that keeps the focus,
the first minute after sign-in, and 200% zoom and 320 px reflow with every control reachable.

Against the store's secured Mosquitto, hub and web server; the customer calls from a QR page.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.broker.web.a11y import REFLOW_320, ZOOM_200, assert_no_axe_violations, assert_reachable, focused, tab_to
from tests.broker.web.conftest import PIN, SecurePhones, staff_sign_in

T = "staffcall/s1"


@pytest.fixture
def store(tmp_path):
    s = SecurePhones(tmp_path)
    yield s
    s.stop()


def customer_calls(store: SecurePhones, new_phone) -> str:
    customer = new_phone()
    customer.goto(store.web.qr_url("qr-paint"))
    customer.click("#call")
    _, payload = store.monitor.wait_for(lambda t, b: t == f"{T}/call/qr-paint" and b, 10)
    return json.loads(payload)["id"]


def test_keyboard_only_colleague_answers_a_page(store, new_phone):
    page = new_phone()
    page.goto(f"{store.web.url}/staff")
    assert_no_axe_violations(page, "sign in")
    page.keyboard.press("Tab")  # the language link first
    while focused(page) != "who":
        page.keyboard.press("Tab")
    page.keyboard.type("Anna")
    expect(page.locator("#pin-label")).to_have_text("PIN for Anna")
    page.keyboard.press("Tab")
    page.keyboard.type("0000")
    page.keyboard.press("Enter")
    # A wrong PIN: whose PIN is asked stays, the error shows below, the focus is back in the box.
    expect(page.locator("#login-error")).to_have_text("Name or PIN is wrong")
    expect(page.locator("#pin-label")).to_have_text("PIN for Anna")
    expect(page.locator("#pin")).to_be_focused()
    assert_no_axe_violations(page, "wrong PIN")
    page.keyboard.type(PIN)
    page.keyboard.press("Enter")
    expect(page.locator("#me")).to_have_text("Anna")
    # First minute: not paged until they choose, and On shift offered as the big button.
    expect(page.locator("#presence-hint")).to_be_visible()
    assert page.locator("[data-status=on_shift]").bounding_box()["height"] >= 80
    assert_no_axe_violations(page, "signed in, no presence")
    tab_to(page, "On shift")
    page.keyboard.press("Enter")
    expect(page.locator("[data-status=on_shift]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("[data-status=off]")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#presence-hint")).to_be_hidden()

    call_id = customer_calls(store, new_phone)
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible(timeout=10_000)
    expect(dialog).to_have_attribute("aria-modal", "true")
    expect(page.locator("[data-act=ack]")).to_be_focused()
    assert_no_axe_violations(page, "page dialog")
    for _ in range(6):  # the focus stays inside the dialog; nothing behind it is reachable
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('alert').contains(document.activeElement)")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.getElementById('alert').contains(document.activeElement)")
    while focused(page) != "ack":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    store.state(call_id, "acknowledged")
    expect(dialog).to_be_hidden()
    mine = page.locator(f"#my-calls li[data-call='{call_id}'] button.next")
    expect(mine).to_have_text("Greeted")
    expect(mine).to_be_focused()
    assert_no_axe_violations(page, "my call, on my way")
    page.keyboard.press("Enter")
    store.state(call_id, "greeted")
    expect(mine).to_have_text("Resolved")
    expect(mine).to_be_focused()
    page.keyboard.press("Enter")  # the store's outcomes: the focus goes to the first
    expect(page.locator("[data-outcome=helped]")).to_be_focused()
    assert_no_axe_violations(page, "outcomes")
    page.keyboard.press("Enter")
    store.state(call_id, "resolved")


def test_radio_pager_buttons_say_their_state(store, new_phone):
    page = new_phone()
    staff_sign_in(page, store.web.url, "maria")
    on = page.locator("[data-radio=dave] [data-radio-status=on_shift]")
    expect(on).to_have_attribute("aria-pressed", "false")
    on.click()
    expect(on).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#lang")).to_have_attribute("lang", "sv")
    assert_no_axe_violations(page, "manager with radio pagers")


@pytest.mark.parametrize("size", [ZOOM_200, REFLOW_320], ids=["zoom-200", "reflow-320"])
def test_every_control_reachable_at_200_percent_and_320_px(store, browser, new_phone, size):
    ctx = browser.new_context(**size)
    try:
        page = ctx.new_page()
        page.goto(f"{store.web.url}/staff")
        assert_reachable(page, "body", at_least=3)
        staff_sign_in(page, store.web.url, "anna")
        assert_reachable(page, "body", at_least=5)
        page.evaluate("scrollTo(0, 0)")
        expect(page.locator("#logout")).to_be_in_viewport()
        page.click("[data-status=on_shift]")
        customer_calls(store, new_phone)
        expect(page.locator("#alert")).to_be_visible(timeout=10_000)
        assert_reachable(page, "#alert", at_least=4)
        assert_no_axe_violations(page, f"page dialog at {size['viewport']}")
        page.click("[data-act=ack]")
        expect(page.locator("#my-calls button.next")).to_have_text("Greeted")
        assert_reachable(page, "body", at_least=5)
    finally:
        ctx.close()
