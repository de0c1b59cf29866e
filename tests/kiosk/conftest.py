"""One Xvfb, one broker, one hub and one kiosk process per test module, reset between tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.contract.config import load_config
from broker.hub.shell import Hub
from broker.mosquitto.runner import Broker
from tests.conftest import STORE_TOML
from tests.kiosk.harness import KioskProcess, Xvfb
from tests.mqtt_helpers import Listener

KIOSK_SECTION = """
[kiosk]
reasons = ["product", "fitting_room", "pickup", "checkout"]
staff_pin = "4711"
feedback_timeout_s = 3
thanks_s = 1
"""

NOBODY_TEXT = "Please ask at the checkout by the entrance."


def kiosk_toml(port: int, db: str) -> str:
    text = STORE_TOML.format(port=port, db=db, ack=30, esc=90, greet=120, unatt=600)
    text = text.replace('language = "sv"\n', "").replace(
        "target_greet_s = 60\n", f'target_greet_s = 60\nlanguage = "en"\nnobody_on_shift_text = "{NOBODY_TEXT}"\n'
    )
    return text + KIOSK_SECTION


@pytest.fixture(scope="module")
def xvfb() -> Iterator[Xvfb]:
    x = Xvfb()
    yield x
    x.stop()


@pytest.fixture(scope="module")
def kbroker() -> Iterator[Broker]:
    b = Broker().start(allow_embedded=False)
    yield b
    b.stop()


@pytest.fixture(scope="module")
def kconfig_path(kbroker: Broker, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("kiosk")
    path = d / "staffcall.toml"
    path.write_text(kiosk_toml(kbroker.port, str(d / "staffcall.db")))
    return path


@pytest.fixture(scope="module")
def khub(kconfig_path: Path) -> Iterator[Hub]:
    h = Hub(load_config(kconfig_path))
    h.start()
    assert h.ready.wait(10), "the hub did not connect to the test broker"
    yield h
    h.stop()


@pytest.fixture(scope="module")
def klistener(kbroker: Broker) -> Iterator[Listener]:
    lst = Listener(kbroker.port, ["staffcall/#"])
    yield lst
    lst.close()


@pytest.fixture(scope="module")
def kiosk_proc(xvfb, khub, kconfig_path: Path, tmp_path_factory) -> Iterator[KioskProcess]:
    d = tmp_path_factory.mktemp("kiosk-app")
    k = KioskProcess(xvfb.display, kconfig_path, "kiosk-1", d / "outbox.db", d / "kivy")
    k.wait_view(lambda v: v["connected"])
    yield k
    k.close()


@pytest.fixture
def kiosk(kiosk_proc: KioskProcess, klistener: Listener) -> KioskProcess:
    """The module's kiosk, back on Welcome with nobody on shift but Anna."""
    kiosk_proc.send(op="reset")
    kiosk_proc.wait_view(lambda v: v["screen"] == "welcome" and not v["transition"])
    return kiosk_proc


def on_shift(listener: Listener, hub: Hub, *staff: str, off: tuple[str, ...] = ()) -> None:
    for s in staff:
        listener.publish(f"staffcall/s1/staff/{s}/presence", {"status": "on_shift"}, retain=True)
    for s in off:
        listener.publish(f"staffcall/s1/staff/{s}/presence", {"status": "off"}, retain=True)
    hub.settle()
