"""The staff web app in Chromium at 390x844: sign in, a page, On my way, Take, dropped connection -> re-routed."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from tests.phones.conftest import staff_sign_in

T = "staffcall/s1"


def sign_in(page, url: str, staff: str) -> None:
    """Signed in and on shift."""
    staff_sign_in(page, url, staff)
    page.click("[data-status=on_shift]")


def test_page_arrives_on_my_way_and_resolve_with_outcome(web, listener, new_phone):
    page = new_phone()
    sign_in(page, web.url, "anna")
    listener.wait_for(lambda m: m.topic == f"{T}/staff/anna/presence" and m.json == {"status": "on_shift"})
    listener.publish(f"{T}/call/kiosk-1", {"id": "c-staff-1", "reason": "product", "text": "<i>size 42</i>"})
    listener.page("anna", "c-staff-1")
    expect(page.locator("#alert")).to_be_visible()
    expect(page.locator("#a-where")).to_have_text("Kiosk by the TVs")
    expect(page.locator("#a-text")).to_have_text("<i>size 42</i>")  # plain text, not markup
    expect(page.locator("#a-wait")).to_have_text(
        re.compile(r"0:0[2-9]"), timeout=4000
    )  # ticking (a 1 s tick may skip one)
    page.click("[data-act=ack]")
    state = listener.state("c-staff-1", "acknowledged")
    assert state["staff"] == "anna"
    expect(page.locator("#alert")).to_be_hidden()
    expect(page.locator("#calls li")).to_contain_text("on the way - Anna")
    # Bad sign-ins and actions are refused clearly.
    assert httpx.post(f"{web.url}/staff/api/login", json={"staff": "ben", "pin": "0000"}).status_code == 401
    assert httpx.post(f"{web.url}/staff/api/act", json={"action": "ack", "call": "c-staff-1"}).status_code == 401


def test_take_from_open_calls_and_outcome(web, listener, new_phone):
    page = new_phone()
    sign_in(page, web.url, "ben")
    listener.wait_for(lambda m: m.topic == f"{T}/staff/ben/presence")
    listener.publish(f"{T}/staff/anna/presence", {"status": "on_shift"}, retain=True)
    listener.publish(f"{T}/call/kiosk-1", {"id": "c-take-1"})
    page_msg = listener.wait_for(lambda m: "/page/" in m.topic and m.json["id"] == "c-take-1")
    if page_msg.topic.endswith("/ben"):
        page.click("[data-act=ack]")
    else:
        page.click("[data-take='c-take-1']")
    listener.state("c-take-1", "acknowledged")
    page.click("#calls li[data-call='c-take-1']")  # nothing happens: own call, no Take button
    assert page.locator("[data-take='c-take-1']").count() == 0
    r = page.evaluate(
        "fetch('/staff/api/act', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify({action: 'resolve', call: 'c-take-1', outcome: 'sale'})}).then(r => r.status)"
    )
    assert r == 200
    closed = listener.state("c-take-1", "resolved")
    assert closed["status"] == "resolved"


def test_dropped_connection_goes_offline_and_the_call_is_rerouted(web, listener, new_phone):
    page = new_phone()
    sign_in(page, web.url, "anna")
    listener.wait_for(lambda m: m.topic == f"{T}/staff/anna/presence" and m.json == {"status": "on_shift"})
    listener.publish(f"{T}/staff/ben/presence", {"status": "on_shift"}, retain=True)
    page.context.set_offline(True)
    expect(page.locator("#banner")).to_contain_text("Cannot reach the store", timeout=6000)
    listener.wait_for(lambda m: m.topic == f"{T}/staff/anna/presence" and m.json == {"status": "offline"}, timeout=6)
    listener.publish(f"{T}/call/kiosk-1", {"id": "c-drop-1"})
    listener.page("ben", "c-drop-1")  # anna is offline: the hub pages ben at once
    page.context.set_offline(False)
    listener.wait_for(
        lambda m: m.topic == f"{T}/staff/anna/presence" and m.json == {"status": "on_shift"},
        timeout=8,
        start=len(listener.messages) - 3,
    )
    expect(page.locator("#banner")).to_be_hidden(timeout=8000)
