"""The chain board on the real three-node cluster, with its own read-only login, fed by a real store.

End to end: a store's hub publishes its status -> the store's Mosquitto bridges it -> the cluster's MQTT
listener -> the ``CHAIN_STATUS`` stream (made by ``staffcall chain cluster streams``) -> ``staffcall chain
board`` (logged in as ``_board``) -> Chromium shows it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import expect

from tests.chain.conftest import ChainStore
from tests.chain.natsjs import free_port, wait_port
from tests.chain.test_board import board_json, wait_for


def test_a_real_store_on_the_board_through_the_bridge_and_the_cluster(browser, chain_cluster, tmp_path: Path):
    store = ChainStore(tmp_path / "s1", "s1", chain_cluster, node=1)
    port = free_port()
    cmd = [sys.executable, "-m", "broker.cli", "chain", "board", "--servers", chain_cluster.servers,
           "--credentials", str(chain_cluster.board_login), "--port", str(port)]  # fmt: skip
    log = open(tmp_path / "board.log", "w")  # noqa: SIM115 - the child writes it
    board = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
    try:
        store.start_hub()
        store.on_shift("anna")
        web = f"http://127.0.0.1:{port}"
        wait_port(port, timeout=60)
        page = browser.new_page()
        page.goto(f"{web}/board?lang=en")
        expect(page.locator("#conn")).to_have_text("Live", timeout=60000)
        s1 = page.locator('li.store[data-store="s1"]')
        expect(s1).to_be_visible(timeout=60000)  # the hub's first status, through the bridge
        expect(s1.locator(".open")).to_have_text("0")
        # A customer presses: the store's next status (every 5 s here) shows the open call.
        store.login("device:kiosk-1").publish(f"{store.root}/call/kiosk-1", json.dumps({"id": "c1"}))
        store.wait_paged("c1")
        expect(s1.locator(".open")).to_have_text("1", timeout=60000)
        assert wait_for(lambda: board_json(web)["rejected"] == 0 or None, what="no rejected status")
        page.close()
    finally:
        board.terminate()
        board.wait(15)
        log.close()
        store.close()
    assert "Permissions Violation" not in (tmp_path / "board.log").read_text()
