"""The manager's staffing grid (``/board/staffing``): reached from the board, read by what it shows."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from datetime import date, datetime
from zoneinfo import ZoneInfo

import msgspec
import pytest
import uvicorn

from bench._staffstore import store_config, write_store
from broker.web.app import create_app
from broker.web.live import LiveState
from broker.web.staffingboard import advice_source

NOW = datetime(2026, 3, 16, 8, tzinfo=ZoneInfo("Europe/Stockholm")).timestamp()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def staffing_server(tmp_path):
    cfg = store_config(2, 2)
    write_store(tmp_path / "staffcall.db", cfg, date(2026, 3, 2), 14, 8.0, seed=4)
    cfg = msgspec.structs.replace(
        cfg,
        database=msgspec.structs.replace(cfg.database, path=str(tmp_path / "staffcall.db")),
        store=msgspec.structs.replace(cfg.store, language="sv"),
        web=msgspec.structs.replace(cfg.web, password="long phrase"),
    )
    port = _free_port()
    app = create_app(cfg, LiveState("gen"), staffing=advice_source(cfg, weeks=2, clock=lambda: NOW))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def test_a_manager_reads_the_staffing_grid_from_the_board(staffing_server, browser):
    ctx = browser.new_context(
        viewport={"width": 1280, "height": 900}, http_credentials={"username": "manager", "password": "long phrase"}
    )
    page = ctx.new_page()
    page.set_default_timeout(60_000)  # the first view replays two weeks of calls
    try:
        page.goto(f"{staffing_server}/board")
        page.get_by_role("link", name="Bemanningsråd").click()  # the board's own words, [store] language sv
        page.wait_for_selector("table.staffgrid-zone")
        assert page.get_by_role("heading", level=1).inner_text().endswith("Kollegor som behövs per timme")
        captions = [c.inner_text() for c in page.locator("caption").all()]
        assert captions == ["zone0", "zone1"]
        table = page.locator("table.staffgrid-zone").first
        assert [h.inner_text() for h in table.locator("th[scope=row]").all()][:2] == ["mån", "tis"]
        cells = table.locator("td").all()
        texts = {c.inner_text() for c in cells}
        # Signs and numbers, not colour alone: every advised cell says +n, −n, · , ? or !.
        assert texts - {""} and all(t in ("·", "?", "!") or t[0] in "+\u2212" for t in texts - {""})
        labelled = [c.get_attribute("aria-label") for c in cells if c.inner_text()]
        assert all(label and label.startswith(("mån", "tis", "ons", "tors", "fre", "lör", "sön")) for label in labelled)
        assert any("behövs" in label or "för få samtal" in label for label in labelled)
        need = page.locator("td.sg-need").first
        if need.count():  # a short hour is red and says how many more
            assert need.inner_text().startswith("+")
            colour = need.evaluate("e => getComputedStyle(e).backgroundColor")
            assert colour == "rgb(198, 40, 40)"
        page.goto(f"{staffing_server}/board/staffing?lang=en")
        assert "Colleagues needed per hour" in page.inner_text("h1")
        assert "Mon" in page.inner_text("table.staffgrid-zone >> nth=0")
    finally:
        ctx.close()


def test_the_staffing_grid_is_behind_the_boards_password(staffing_server):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{staffing_server}/board/staffing", timeout=30)
    assert refused.value.code == 401
