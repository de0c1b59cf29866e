"""The board as a wall screen, in Chromium: every text large enough at 720p, 1080p and 4K, every open call on
the screen, the store's language, late marked by a word, and no axe-core A/AA violation in any of its states.

The board only renders ``LiveState``; these tests feed it the hub's messages directly (the live path over the
store's broker is ``test_board.py``'s), so each state is exact and the browser waits on nothing but the page.
axe-core comes from npm (``deploy/install-deps.sh test`` puts it in ``tests/axe/``; ``a11y.axe_source``).
"""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
import uvicorn

from broker.contract.clock import iso
from broker.contract.config import parse_config
from broker.web.app import create_app
from broker.web.board import board_texts
from broker.web.live import LiveState
from tests.broker.web.a11y import axe_source
from tests.broker.web.conftest import free_port
from tests.conftest import STORE_TOML

T = "staffcall/s1"
SIZES = [(1280, 720), (1920, 1080), (3840, 2160)]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]

TEXT_SIZES = """() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const e = n.parentElement;
    if (!n.textContent.trim() || !e || e.closest('script') || !e.checkVisibility({visibilityProperty: true})) continue;
    out.push([n.textContent.trim().slice(0, 40), parseFloat(getComputedStyle(e).fontSize), e.className]);
  }
  return out;
}"""

CALL_BOXES = """() => [...document.querySelectorAll('#calls .call')].map((li) => {
  const r = li.getBoundingClientRect();
  return {id: li.dataset.id, top: r.top, bottom: r.bottom, left: r.left, right: r.right,
          clipped: li.scrollWidth > li.clientWidth + 1 || li.scrollHeight > li.clientHeight + 1};
})"""


def state(call_id: str, waited: float, status: str = "waiting", device: str = "kiosk-1", **kw) -> bytes:
    now = time.time()
    msg = {"id": call_id, "device": device, "zone": "electronics", "reason": "product", "status": status,
           "tier": 1, "staff": None, "staff_name": None, "eta_s": 45, "opened_at": iso(now - waited),
           "updated_at": iso(now), "waited_s": waited, **kw}  # fmt: skip
    return json.dumps(msg).encode()


def board_config(language: str):
    toml = STORE_TOML.format(port=1883, db=":memory:", ack=30, esc=90, greet=120, unatt=600)
    return parse_config(toml.replace('name = "Test Store"\n', f'name = "Test Store"\nlanguage = "{language}"\n', 1))


def calls_state(live: LiveState) -> None:
    """Five open calls: late and waiting, escalated to everyone, nobody on shift, on the way, being helped."""
    live.apply(f"{T}/state/c1", state("c1", 340, tier=3, repeat_presses=2))
    live.apply(f"{T}/state/c2", state("c2", 95, device="kiosk-2", reason="pickup", staff_name="Ben", zone="toys"))
    live.apply(f"{T}/state/c3", state("c3", 70, device="button-1", reason=None, zone="toys", nobody_on_shift=True))
    live.apply(f"{T}/state/c4", state("c4", 20, status="acknowledged", staff="anna", staff_name="Anna"))
    live.apply(f"{T}/state/c5", state("c5", 5, status="greeted", staff="ben", staff_name="Ben", reason="checkout"))


def fault_state(live: LiveState) -> None:
    calls_state(live)
    live.apply(f"{T}/hub/health", b'{"status": "fault", "problem": "the disk is full", "held_records": 12}')


STATES = {"empty": lambda live: None, "calls": calls_state, "fault": fault_state}


class Wall:
    """The board alone (``staffcall board``) in a thread, over a ``LiveState`` the test feeds."""

    def __init__(self, language: str) -> None:
        self.cfg = board_config(language)
        self.live = LiveState("s1")
        self.live.apply(f"{T}/hub/status", b"online")
        self.live.apply(f"{T}/staff/anna/presence", b'{"status": "on_shift"}')
        self.live.apply(f"{T}/staff/ben/presence", b'{"status": "break"}')
        self.live.apply(f"{T}/staff/chloe/presence", b'{"status": "offline"}')  # her pager's Will
        self.live.apply(f"{T}/device/button-1/status", b"offline")
        self.live.apply(f"{T}/summary", b'{"calls": 14, "open": 5, "greeted": 9, "greeted_within_target": 7, '
                        b'"median_greet_s": 48.0, "median_ack_s": 12.0, "cancelled": 1, "unattended": 0}')  # fmt: skip
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.start()

    def start(self) -> None:
        port = self.port
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(self.cfg, self.live),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                timeout_graceful_shutdown=1,
            )  # fmt: skip
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the board's server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(params=["sv", "en"])
def wall(request):
    w = Wall(request.param)
    yield w
    w.stop()


def open_board(browser, wall: Wall, size: tuple[int, int], query: str = "tv=1"):
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    page.goto(f"{wall.url}/board?{query}")
    page.wait_for_selector("#conn.live", timeout=30000)
    page.wait_for_function(f"document.querySelectorAll('#calls .call').length === {len(wall.live.calls)}")
    return ctx, page


@pytest.mark.parametrize("name", list(STATES))
def test_wall_screen_sizes_and_every_call_on_screen(browser, wall, name):
    STATES[name](wall.live)
    texts = board_texts(wall.cfg.store.language)
    for width, height in SIZES:
        ctx, page = open_board(browser, wall, (width, height))
        try:
            smallest = 24 * height / 1080 - 0.5  # >= 24 px at 1080p, in proportion at 720p and 4K
            sizes = page.evaluate(TEXT_SIZES)
            small = [s for s in sizes if s[1] < smallest]
            assert not small, f"{width}x{height}: texts under {smallest:.1f} px: {small}"
            boxes = page.evaluate(CALL_BOXES)
            assert len(boxes) == len(wall.live.calls)
            for box in boxes:
                assert box["top"] >= 0 and box["bottom"] <= height and box["left"] >= 0 and box["right"] <= width, (
                    f"{width}x{height}: call {box['id']} is not all on the screen: {box}"
                )
                assert not box["clipped"], f"{width}x{height}: call {box['id']} is clipped"
            assert page.evaluate("document.documentElement.scrollHeight <= innerHeight + 1"), "the wall screen scrolls"
            if boxes:
                longest = page.evaluate(
                    "parseFloat(getComputedStyle(document.querySelector('.call.longest .wait')).fontSize)"
                )
                assert page.get_attribute("#calls .call:first-child", "data-id") == "c1"
                assert longest == max(s[1] for s in sizes), "the longest wait is the largest thing on the board"
                late = page.locator(".call[data-id='c1'] .late-badge")
                assert late.is_visible() and texts["board_late"] in late.inner_text()  # a word, not only red
                assert texts["board_escalated"] in page.inner_text(".call[data-id='c1']")
                assert texts["reason.product"] in page.inner_text(".call[data-id='c1']")
                assert texts["reason.pickup"] in page.inner_text(".call[data-id='c2']")
            staff = page.inner_text("#staff")
            assert texts["board_presence_off"] in staff and texts["board_presence_offline"] in staff
            if name == "fault":
                assert page.inner_text("#health") == texts["board_health_fault"].format(problem="the disk is full")
            assert page.evaluate("document.documentElement.lang") == wall.cfg.store.language
            keep = os.environ.get("STAFFCALL_KEEP_SCREENSHOTS")
            if keep and name == "calls":
                os.makedirs(keep, exist_ok=True)
                page.screenshot(path=os.path.join(keep, f"board-{wall.cfg.store.language}-{width}x{height}.png"))
        finally:
            ctx.close()


@pytest.mark.parametrize("name", list(STATES))
def test_no_axe_violations(browser, wall, name):
    source = axe_source()  # the one copy of axe-core the accessibility tests share
    STATES[name](wall.live)
    ctx, page = open_board(browser, wall, (1920, 1080), query="")
    try:
        page.add_script_tag(content=source)
        found = page.evaluate(
            "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
            ".then((r) => r.violations.map((v) => ({id: v.id, nodes: v.nodes.map((n) => n.target.join(' '))})))",
            AXE_TAGS,
        )
        assert found == [], f"axe-core A/AA violations on the board ({name}): {found}"
    finally:
        ctx.close()


def test_presence_never_seen_is_not_on_shift_and_a_will_is_lost_connection():
    live = LiveState("s1")
    live.apply(f"{T}/staff/anna/presence", b'{"status": "offline"}')
    staff = {s["id"]: s["status"] for s in live.board(board_config("sv"), now=time.time())["staff"]}
    assert staff == {"anna": "offline", "ben": "off", "chloe": "off", "maria": "off"}


def test_tv_mode_hides_the_pointer_dims_at_night_and_comes_back_after_a_server_restart(browser):
    wall = Wall("sv")
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = ctx.new_page()
        page.goto(f"{wall.url}/board?tv=1&dim=00:00-23:59")  # night all day but one minute
        page.wait_for_selector("#conn.live", timeout=30000)
        style = page.evaluate("[getComputedStyle(document.body).cursor, getComputedStyle(document.body).overflow]")
        assert style == ["none", "hidden"]
        page.wait_for_function("document.body.classList.contains('night') || new Date().getMinutes() === 59")
        page.goto(f"{wall.url}/board?tv=1&dim=off")
        page.wait_for_selector("#conn.live", timeout=30000)
        assert not page.evaluate("document.body.classList.contains('night')")
        page.goto(f"{wall.url}/board?tv=1&dim=<b>")  # an unreadable ?dim= falls back to the default hours
        assert page.get_attribute("body", "data-night") == "21:00-07:00"
        page.wait_for_selector("#conn.live", timeout=30000)

        wall.stop()  # the server goes away: the screen says so, then follows it again by itself
        page.wait_for_selector("#conn.lost", timeout=30000)
        assert page.inner_text("#conn") == board_texts("sv")["board_reconnecting"]
        wall.live.apply(f"{T}/state/c9", state("c9", 12))
        wall.start()
        page.wait_for_selector(".call[data-id='c9']", timeout=60000)
        page.wait_for_selector("#conn.live", timeout=30000)
    finally:
        ctx.close()
        wall.stop()


def test_the_page_speaks_the_store_language_and_shrugs_off_odd_queries():
    from starlette.testclient import TestClient

    with TestClient(create_app(board_config("sv"), LiveState("s1"))) as client:
        page = client.get("/board", params={"lang": "<script>", "tv": "x" * 500, "dim": "25:00-99:99"})
        assert page.status_code == 200 and '<html lang="sv">' in page.text and "Öppna anrop" in page.text
        assert 'data-night="21:00-07:00"' in page.text and 'class="tv"' not in page.text
        english = client.get("/board", params={"lang": "en", "tv": "1", "dim": "off"})
        assert '<html lang="en">' in english.text and "Open calls" in english.text and 'data-night=""' in english.text
