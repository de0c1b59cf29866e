"""The staff web app speaks the store's language (sv here), from the catalogs, and switches to English."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.phones.conftest import PIN, WebServer, free_port, phones_config

T = "staffcall/s1"


@pytest.fixture
def sv_web(broker, tmp_path, phub):
    cfg = phones_config(broker.port, str(tmp_path / "staffcall.db"), str(tmp_path), web_port=free_port(), language="sv")
    w = WebServer(cfg).start()
    yield w
    w.stop()


@pytest.fixture
def phub(broker, tmp_path):
    from broker.hub import Hub

    cfg = phones_config(broker.port, str(tmp_path / "staffcall.db"), str(tmp_path), web_port=free_port(), language="sv")
    h = Hub(cfg)
    h.start()
    assert h.ready.wait(10)
    yield h
    h.stop()


def test_swedish_by_default_then_english(sv_web, listener, new_phone):
    page = new_phone()
    page.goto(f"{sv_web.url}/staff")
    expect(page.locator("button[type=submit]")).to_have_text("Logga in")
    page.select_option("#who", "anna")
    page.fill("#pin", "0000")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Fel namn eller PIN-kod")
    page.fill("#pin", PIN)
    page.click("button[type=submit]")
    expect(page.locator("[data-status=on_shift]")).to_have_text("I tjänst")
    page.click("[data-status=on_shift]")
    listener.wait_for(lambda m: m.topic == f"{T}/staff/anna/presence" and m.json == {"status": "on_shift"})
    listener.publish(f"{T}/call/kiosk-1", {"id": "c-sv-1", "reason": "product"})
    listener.page("anna", "c-sv-1")
    expect(page.locator("#a-kind")).to_have_text("Kund behöver hjälp")
    expect(page.locator("#a-reason")).to_have_text("Hjälp att hitta en vara")  # the kiosk's catalog
    expect(page.locator("[data-act=ack]")).to_have_text("Jag kommer")
    page.click("[data-act=ack]")
    listener.state("c-sv-1", "acknowledged")
    expect(page.locator("#calls li")).to_contain_text("på väg - Anna")
    page.click("#lang")  # English, remembered for this phone
    expect(page.locator("#calls li")).to_contain_text("on the way - Anna")
    page.goto(f"{sv_web.url}/staff")
    expect(page.locator("h2").first).to_have_text("Open calls")
