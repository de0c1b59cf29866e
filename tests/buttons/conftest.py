"""Button-station fixtures: the shared store config plus two GPIO stations, on a private broker."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from broker.config import Config, parse_config
from tests.conftest import STORE_TOML

STATIONS_TOML = """
[[devices]]
id = "fit-1"
kind = "button"
zone = "toys"
label = "Fitting room 1"
button_pin = 17
led_pin = 27
buzzer_pin = 22

[[devices]]
id = "fit-2"
kind = "button"
zone = "electronics"
button_pin = 5
rgb_led_pins = [6, 13, 19]

[buttons]
hold_s = 0.3
bounce_s = 0.1
outbox_dir = "{outbox}"
"""


def stations_config(port: int, tmp: Path, ack: float = 30, esc: float = 90) -> Config:
    text = STORE_TOML.format(port=port, db=str(tmp / "staffcall.db"), ack=ack, esc=esc, greet=120, unatt=600)
    return parse_config(text + STATIONS_TOML.format(outbox=str(tmp / "outbox")))


@pytest.fixture
def config(broker, tmp_path: Path) -> Config:
    """Overrides the shared ``config`` (so the shared ``hub`` runs it): escalation within a second."""
    return stations_config(broker.port, tmp_path, ack=1.0, esc=1.5)


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()


def wait_until(pred: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.005)
    raise AssertionError(f"{what} not reached within {timeout}s")
