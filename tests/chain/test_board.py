"""``staffcall chain board`` through Chromium: every store live, offline ones first, numbers pushed as they change."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.broker.web.a11y import assert_no_axe_violations
from tests.chain.natsjs import free_port, wait_port

OFFLINE_AFTER_S = 4.0
"""The test board's offline limit (the real one is two minutes): short, so a silent store turns red quickly."""


def board_json(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/board.json", timeout=10) as resp:
        return json.load(resp)


def wait_for(check, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def board(nats_js, tmp_path):
    url, pub = nats_js
    # A store that last spoke before the board started, longer ago than the offline limit: offline at once.
    pub.status("s4", "south", name="Malmö", open_calls=1, longest_wait_s=10, devices_online=2, devices_total=2)
    time.sleep(OFFLINE_AFTER_S + 1)
    port = free_port()
    cmd = [sys.executable, "-m", "broker.cli", "chain", "board", "--servers", url, "--port", str(port),
           "--offline-after", str(OFFLINE_AFTER_S)]  # fmt: skip
    with open(tmp_path / "board.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_port(port)
            web = f"http://127.0.0.1:{port}"
            wait_for(lambda: board_json(web)["stores"] == 1, what="the replayed status")
            yield web, pub
        finally:
            proc.terminate()
            proc.wait(15)


class KeepAlive:
    """Stores s1 and s3 keep sending their status every half second; s2 goes quiet when told."""

    def __init__(self, pub) -> None:
        self.pub, self.stop, self.s2 = pub, threading.Event(), True
        self.s1_open = 2
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self) -> None:
        while not self.stop.is_set():
            self.pub.status("s1", "north", name="Umeå", open_calls=self.s1_open, longest_wait_s=30,
                            promise_share_today=0.91, devices_online=3, devices_total=3)  # fmt: skip
            if self.s2:
                self.pub.status("s2", "north", name="Luleå", open_calls=1, longest_wait_s=200, promise_share_today=0.5)
            self.pub.status("s3", "south", name="Lund", open_calls=0, longest_wait_s=0, promise_share_today=1.0)
            self.stop.wait(0.5)


def test_live_numbers_and_a_silent_store_turns_offline(browser, board):
    web, pub = board
    alive = KeepAlive(pub)
    try:
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(f"{web}/board?lang=en")
        expect(page.locator("#conn")).to_have_text("Live", timeout=30000)
        stores = page.locator("li.store")
        expect(stores).to_have_count(4, timeout=30000)
        # The replayed store is offline at once, and comes first; then the longest wait.
        expect(page.locator('li.store[data-store="s4"]')).to_have_class("store offline")
        expect(page.locator('li.store[data-store="s4"] .badge')).to_have_text("Offline")
        expect(stores.nth(0)).to_have_attribute("data-store", "s4")
        expect(page.locator('li.store[data-store="s2"] .longest')).to_have_text("3m20s")
        expect(page.locator('li.store[data-store="s1"] .promise')).to_have_text("91%")
        # A new status updates the numbers live.
        alive.s1_open = 7
        expect(page.locator('li.store[data-store="s1"] .open')).to_have_text("7", timeout=30000)
        # s2 stops sending: offline on screen after the limit, while s1 and s3 stay online.
        alive.s2 = False
        expect(page.locator('li.store[data-store="s2"]')).to_have_class("store offline", timeout=30000)
        expect(page.locator('li.store[data-store="s1"]')).not_to_have_class("store offline")
        expect(page.locator("#summary")).to_contain_text("2 offline")
        assert_no_axe_violations(page, "chain board, two stores offline")
        # Back again: online again.
        alive.s2 = True
        expect(page.locator('li.store[data-store="s2"]')).to_have_class("store late", timeout=30000)
        page.close()
    finally:
        alive.stop.set()
        alive.thread.join(10)


def test_hostile_statuses_are_rejected_and_the_page_speaks_swedish(browser, board):
    web, pub = board
    pub.raw("chain.s1.status", b"\xff not json")
    pub.raw("chain.s1.status", b'{"store": "s9", "at": "2026-12-03T10:00:00Z", "open_calls": 99}')  # not its subject
    pub.raw("chain.s5.status", b'{"store": "s5", "at": "x", "open_calls": "many"}')
    pub.status("s6", "west", name="Kiruna <b>", open_calls=3, longest_wait_s=95)
    data = wait_for(lambda: (d := board_json(web))["rejected"] >= 3 and d["stores"] == 2 and d, what="rejections")
    assert {s["store"] for r in data["regions"] for s in r["stores"]} == {"s4", "s6"}
    page = browser.new_page()
    page.goto(f"{web}/board?lang=sv")
    expect(page.locator("#conn")).to_have_text("Direkt", timeout=30000)
    expect(page.locator('li.store[data-store="s6"] dt').first).to_have_text("Öppna anrop")
    expect(page.locator('li.store[data-store="s6"] .name')).to_have_text("Kiruna <b>")  # text, never markup
    expect(page.locator('li.store[data-store="s6"] .longest')).to_have_text("1m35s")
    assert_no_axe_violations(page, "chain board in Swedish")
    page.close()
