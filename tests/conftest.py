"""Shared fixtures: a real private Mosquitto per test, a store config, a running hub."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.contract.config import Config, parse_config
from broker.hub.shell import Hub
from broker.mosquitto.runner import Broker
from tests.mqtt_helpers import Listener

STORE_TOML = """\
[store]
id = "s1"
name = "Test Store"
target_greet_s = 60

[broker]
host = "127.0.0.1"
port = {port}

[database]
path = "{db}"

[timers]
ack_timeout_s = {ack}
escalate_after_s = {esc}
greet_timeout_s = {greet}
unattended_after_s = {unatt}

[[staff]]
id = "anna"
name = "Anna"
role = "Summer substitute"
zones = ["electronics"]

[[staff]]
id = "ben"
name = "Ben"
zones = ["electronics", "toys"]

[[staff]]
id = "chloe"
name = "Chloe"
zones = ["toys"]

[[staff]]
id = "maria"
name = "Maria"
role = "Store manager"
manager = true

[[devices]]
id = "kiosk-1"
kind = "kiosk"
zone = "electronics"
label = "Kiosk by the TVs"

[[devices]]
id = "kiosk-2"
kind = "kiosk"
zone = "toys"

[[devices]]
id = "button-1"
kind = "button"
zone = "toys"
"""


def store_config(port: int = 1883, db: str = ":memory:", ack=30, esc=90, greet=120, unatt=600) -> Config:
    return parse_config(STORE_TOML.format(port=port, db=db, ack=ack, esc=esc, greet=greet, unatt=unatt))


def write_config(path: Path, **kw) -> Path:
    kw.setdefault("db", str(path.parent / "staffcall.db"))
    path.write_text(textwrap.dedent(STORE_TOML.format(**{"ack": 30, "esc": 90, "greet": 120, "unatt": 600, **kw})))
    return path


@pytest.fixture
def broker() -> Iterator[Broker]:
    b = Broker().start(allow_embedded=False)
    yield b
    b.stop()


@pytest.fixture
def config(broker: Broker, tmp_path: Path) -> Config:
    return store_config(port=broker.port, db=str(tmp_path / "staffcall.db"))


@pytest.fixture
def hub(config: Config) -> Iterator[Hub]:
    h = Hub(config)
    h.start()
    assert h.ready.wait(10), "the hub did not connect to the test broker"
    yield h
    h.stop()


@pytest.fixture
def listener(broker: Broker) -> Iterator[Listener]:
    lst = Listener(broker.port, ["staffcall/#"])
    yield lst
    lst.close()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (never a downloaded browser build).

    One for the whole run: Playwright's sync API allows one instance per thread at a time.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()
