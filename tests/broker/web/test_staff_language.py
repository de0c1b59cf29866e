"""The staff web app speaks the store's language (sv here), from the catalogs, and switches to English."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.broker.web.conftest import PIN, SecurePhones
from tests.broker.web.test_staff_app import ZONES, on_shift
from tests.security.conftest import peer

T = "staffcall/s1"


@pytest.fixture
def sv_store(tmp_path):
    s = SecurePhones(tmp_path, language="sv", extra=ZONES)
    yield s
    s.stop()


def test_swedish_by_default_then_english(sv_store, new_phone):
    page = new_phone()
    page.goto(f"{sv_store.web.url}/staff")
    expect(page.locator("button[type=submit]")).to_have_text("Logga in")
    page.select_option("#who", "anna")
    page.fill("#pin", "0000")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Fel namn eller PIN-kod")
    page.fill("#pin", PIN)
    page.click("button[type=submit]")
    expect(page.locator("[data-status=on_shift]")).to_have_text("I tjänst")
    page.click("[data-status=on_shift]")
    on_shift(sv_store, "anna")
    kiosk = peer(sv_store.cfg, "device:kiosk-1")
    try:
        kiosk.publish(f"{T}/call/kiosk-1", json.dumps({"id": "c-sv-1", "reason": "product"}))
        expect(page.locator("#a-kind")).to_have_text("Kund behöver hjälp", timeout=10_000)
    finally:
        kiosk.close()
    expect(page.locator("#a-reason")).to_have_text("Hjälp att hitta en vara")  # the kiosk's catalog
    expect(page.locator("#a-zone")).to_have_text("Zon: Elektronik")  # [[zones]] names.sv
    page.get_by_role("button", name="Jag kommer").click()
    sv_store.state("c-sv-1", "acknowledged")
    mine = page.locator("#my-calls li[data-call='c-sv-1']")
    expect(mine).to_contain_text("på väg")
    expect(mine.locator("button.next")).to_have_text("Hälsat")
    expect(page.locator("#mine h2")).to_have_text("Mina anrop")
    page.click("#lang")  # English, remembered for this phone
    expect(mine).to_contain_text("on the way")
    expect(mine).to_contain_text("Electronics")  # [[zones]] name: no English one of its own
    page.goto(f"{sv_store.web.url}/staff")
    expect(page.locator("#mine h2")).to_have_text("My calls")


def test_sign_in_refusals_in_swedish(sv_store, new_phone):
    """Dave has no PIN; then wrong PINs until the lockout: each said in the store's language."""
    page = new_phone()
    page.goto(f"{sv_store.web.url}/staff")
    page.select_option("#who", "dave")
    page.fill("#pin", "1234")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Du har ingen PIN-kod än. Be en chef att lägga in en.")
    page.select_option("#who", "anna")
    for n in range(4):  # five failures a minute from one address are allowed
        page.fill("#pin", f"000{n}")
        with page.expect_response("**/staff/api/login"):  # each answer arrives before the next try
            page.click("button[type=submit]")
        expect(page.locator("#login-error")).to_have_text("Fel namn eller PIN-kod")
    page.fill("#pin", PIN)  # even the right PIN waits now
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("För många försök. Vänta en minut och försök sedan igen.")
