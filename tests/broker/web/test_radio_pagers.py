"""Managers set the presence of colleagues who carry only a radio pager (broker/web/radiopagers.py).

The pure rules first, then the real web server, Mosquitto and hub over HTTP (the hub then
pages the colleague), then Chromium: the manager's "Radio pagers" section.  In the test
store maria is the manager (with a PIN), dave carries only a radio pager (no PIN), anna
and ben have PINs and no pager, chloe has neither.
"""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import expect

from broker.contract.config import Staff
from broker.web.qrdesk import CallRefused
from broker.web.radiopagers import RadioPagers
from tests.broker.web.conftest import PIN, staff_sign_in
from tests.mqtt_helpers import Listener

T = "staffcall/s1"
DAVE = f"{T}/staff/dave/presence"

ROSTER = [
    Staff("maria", "Maria", manager=True, pin_hash="h"),
    Staff("boss", "Boss without PIN", manager=True),
    Staff("anna", "Anna", pin_hash="h"),
    Staff("dave", "Dave", pager="espa:1234"),
    Staff("erik", "Erik", pager="tap:555", pin_hash="h"),
]


# --- the pure rules ------------------------------------------------------------------------------


def test_only_a_manager_sets_only_a_radio_pager_to_on_shift_or_off():
    team = RadioPagers.from_staff(ROSTER)
    [cmd] = team.set_presence("maria", "dave", "off")
    assert (cmd.topic, cmd.body, cmd.retain, cmd.will) == ("staff/dave/presence", {"status": "off"}, True, False)
    refusals = {
        ("anna", "dave", "on_shift"): "not_a_manager",
        ("boss", "dave", "on_shift"): "not_a_manager",  # cannot sign in anyway
        ("maria", "zed", "on_shift"): "unknown_staff",
        ("maria", "anna", "on_shift"): "not_radio_only",  # no pager
        ("maria", "erik", "on_shift"): "not_radio_only",  # a pager and a PIN: sets his own
        ("maria", "dave", "break"): "status_not_allowed",
        ("maria", "dave", "offline"): "status_not_allowed",
    }
    for (who, whom, status), key in refusals.items():
        with pytest.raises(CallRefused) as exc:
            team.set_presence(who, whom, status)
        assert (exc.value.key, exc.value.status) == (key, 403), (who, whom, status)
    for whom, status in ((None, "on_shift"), ("dave", None)):
        with pytest.raises(CallRefused) as exc:
            team.set_presence("maria", whom, status)
        assert exc.value.status == 400
    assert team.view("maria", {"dave": "on_shift"}) == [{"staff": "dave", "name": "Dave", "presence": "on_shift"}]
    assert team.view("anna", {}) is None


# --- HTTP, the broker and the hub ------------------------------------------------------------------


def signed_in(url: str, staff: str) -> httpx.Client:
    phone = httpx.Client(base_url=url, timeout=5)
    assert phone.post("/staff/api/login", json={"staff": staff, "pin": PIN}).status_code == 200
    return phone


def test_manager_sets_a_radio_pager_on_shift_and_the_hub_pages_him(web, phub, listener, broker):
    maria = signed_in(web.url, "maria")
    assert maria.get("/staff/view.json").json()["radio_pagers"] == [{"staff": "dave", "name": "Dave", "presence": None}]
    r = maria.post("/staff/api/team", json={"staff": "dave", "status": "on_shift"})
    assert r.status_code == 200, r.text
    assert r.json()["view"]["radio_pagers"][0]["presence"] == "on_shift"
    listener.wait_for(lambda m: m.topic == DAVE and m.json == {"status": "on_shift"})
    late = Listener(broker.port, [DAVE])  # a client that subscribes now gets the retained presence
    try:
        retained = late.wait_for(lambda m: m.topic == DAVE)
        assert retained.retain and retained.json == {"status": "on_shift"}
    finally:
        late.close()
    expect_status(phub, "dave", "on_shift")
    assert "dave" not in web.phones.wills.clients  # no Will connection: a radio pager has none to lose

    listener.publish(f"{T}/call/kiosk-1", {"id": "c-radio-1"})  # zone electronics: dave is the one on shift
    assert listener.page("dave", "c-radio-1")["id"] == "c-radio-1"

    r = maria.post("/staff/api/team", json={"staff": "dave", "status": "off"})
    assert r.status_code == 200 and r.json()["view"]["radio_pagers"][0]["presence"] == "off"
    listener.wait_for(lambda m: m.topic == DAVE and m.json == {"status": "off"})
    expect_status(phub, "dave", "off")


def expect_status(hub, staff: str, status: str) -> None:
    deadline = time.monotonic() + 5
    while hub.core.router.status(staff) != status:
        assert time.monotonic() < deadline, hub.core.router.status(staff)
        time.sleep(0.02)


def test_refusals_publish_nothing(web, listener):
    maria, anna = signed_in(web.url, "maria"), signed_in(web.url, "anna")
    cases = [
        (anna, {"staff": "dave", "status": "on_shift"}, 403, "not_a_manager"),
        (maria, {"staff": "zed", "status": "on_shift"}, 403, "unknown_staff"),
        (maria, {"staff": "anna", "status": "on_shift"}, 403, "not_radio_only"),  # has a PIN
        (maria, {"staff": "chloe", "status": "on_shift"}, 403, "not_radio_only"),  # no radio pager
        (maria, {"staff": "dave", "status": "break"}, 403, "status_not_allowed"),
        (maria, {"staff": "dave", "status": "gone fishing"}, 400, "bad_request"),
        (maria, {"staff": "dave"}, 400, "bad_request"),
        (maria, {"staff": 5, "status": "on_shift"}, 400, "bad_request"),
        (maria, {"staff": "dave", "status": "on_shift", "as": "hub"}, 400, "bad_request"),
    ]
    start = len(listener.messages)
    for phone, body, status, key in cases:
        r = phone.post("/staff/api/team", json=body)
        assert (r.status_code, r.json()["error"]) == (status, key), (body, r.text)
        assert r.json()["detail"]
    r = maria.post("/staff/api/team", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = httpx.post(f"{web.url}/staff/api/team", json={"staff": "dave", "status": "on_shift"})
    assert r.status_code == 401  # not signed in
    # One allowed change from the same MQTT client last: once it is seen, anything published earlier was too.
    assert maria.post("/staff/api/team", json={"staff": "dave", "status": "off"}).status_code == 200
    listener.wait_for(lambda m: m.topic == DAVE, start=start)
    presences = [(m.topic, m.json) for m in listener.messages[start:] if m.topic.endswith("/presence")]
    assert presences == [(DAVE, {"status": "off"})], presences
    assert anna.get("/staff/view.json").json()["radio_pagers"] is None


# --- in Chromium ---------------------------------------------------------------------------------------


def test_manager_taps_on_shift_for_a_radio_pager_and_others_see_no_section(web, listener, new_phone):
    page = new_phone()
    staff_sign_in(page, web.url, "maria")
    dave = page.locator("#radio-pagers li[data-radio=dave]")
    expect(page.locator("#radio-pagers h2")).to_have_text("Radio pagers")
    expect(dave).to_contain_text("Dave")
    expect(dave.locator("[data-presence]")).to_have_text("Not set")
    dave.locator("[data-radio-status=on_shift]").click()
    expect(dave.locator("[data-presence]")).to_have_text("On shift")
    expect(dave.locator("[data-radio-status=on_shift]")).to_have_class("on")
    listener.wait_for(lambda m: m.topic == DAVE and m.json == {"status": "on_shift"})
    expect(page.locator("[data-status=on_shift]")).not_to_have_class("on")  # maria's own presence is untouched

    other = new_phone()
    staff_sign_in(other, web.url, "anna")
    expect(other.locator("#calls")).to_be_attached()
    assert other.locator("#radio-pagers").count() == 0
