"""Button-station fixtures: the shared store config plus two GPIO stations.

``config`` runs them on the private test broker; ``store`` runs them as a store does, on the
broker set up by ``staffcall broker init`` (each part with its own login, the ACL enforced).
"""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from broker.callpoint.callpoint import CallPoint
from broker.callpoint.cues import Cues
from broker.contract.config import Config, load_config, parse_config
from broker.hub.shell import Hub
from broker.mosquitto.runner import Broker
from broker.mosquitto.setup import write_setup
from hardware.station import ButtonStation
from tests.conftest import STORE_TOML
from tests.security.conftest import Peer, peer, write_secure_config

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


def tap(station: ButtonStation, down_s: float = 0.05) -> None:
    """Press and release like a person: after the last press has settled (edges within bounce_s are one)."""
    wait_until(lambda: not station.logic.pressed, what="the previous press released")
    time.sleep(station.logic.bounce_s)
    station.button.pin.drive_low()
    time.sleep(down_s)
    station.button.pin.drive_high()


def hold(station: ButtonStation) -> None:
    tap(station, station.logic.hold_s + 0.1)


@dataclass
class SecureStations:
    """The store as ``staffcall broker init`` sets it up (logins, ACL), with the two stations and a hub."""

    cfg: Config
    broker: Broker
    hub: Hub
    monitor: Peer
    folder: Path
    made: list[ButtonStation] = field(default_factory=list)

    def station(
        self,
        device_id: str,
        pins: MockFactory,
        outbox: str | None = None,
        start: bool = True,
        hold_s: float | None = None,
        bounce_s: float | None = None,
        cues: Cues | None = None,
    ) -> ButtonStation:
        """A station logged in with its own credential, as ``staffcall buttons`` runs it (``start``: connected)."""
        point = CallPoint(self.cfg, device_id, outbox or str(self.folder / f"{device_id}.outbox.db"))
        station = ButtonStation(
            self.cfg.devices_by_id[device_id],
            point,
            hold_s or self.cfg.buttons.hold_s,
            bounce_s or self.cfg.buttons.bounce_s,
            pin_factory=pins,
            cues=cues,
        )
        self.made.append(station)
        if not start:
            return station
        point.start()
        wait_until(lambda: station.connected, timeout=10, what=f"{device_id} connected to the store broker")
        return station

    def staff(self, staff_id: str) -> Peer:
        """A colleague's own login (what the staff app or pager publishes with)."""
        return peer(self.cfg, f"staff:{staff_id}")

    def message(self, pred: Callable[[str, object], bool], timeout: float = 10.0, start: int = 0) -> object:
        """The first message from ``start`` on that matches ``pred(topic, body)``; its body.

        The body is the JSON payload decoded, the text of a plain one ("online"), None if empty.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self.monitor.cond:
                for topic, payload in self.monitor.messages[start:]:
                    body = _body(payload)
                    if pred(topic, body):
                        return body
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [t for t, _ in self.monitor.messages[-12:]]
                    raise AssertionError(f"no matching message within {timeout}s; last seen {seen}")
                self.monitor.cond.wait(left)

    def state(self, call_id: str, status: str, timeout: float = 10.0, start: int = 0) -> dict:
        def match(topic: str, body: object) -> bool:
            return topic == f"staffcall/s1/state/{call_id}" and isinstance(body, dict) and body["status"] == status

        return self.message(match, timeout, start)

    def mark(self) -> int:
        """Where the monitor's messages are now (pass as ``start`` to see only what comes next)."""
        with self.monitor.cond:
            return len(self.monitor.messages)


def _body(payload: bytes) -> object:
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", "replace")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SecureStations]:
    """Broker with the generated conf/ACL/logins, the hub logged in as itself, a read-only monitor."""
    path = write_secure_config(tmp_path, tls=False)
    path.write_text(path.read_text() + STATIONS_TOML.format(outbox=tmp_path / "outbox"))
    cfg = load_config(path)
    # Mosquitto started as root would switch to the "mosquitto" account, which cannot read pytest's tmp folders.
    setup = write_setup(cfg, tmp_path / "broker", log_file=tmp_path / "mosquitto.log", run_as=getpass.getuser())
    broker = Broker(port=cfg.broker.port, workdir=str(tmp_path), conf=setup.conf).start(allow_embedded=False)
    hub = Hub(cfg)
    hub.start()
    monitor = peer(cfg, "monitor", ["staffcall/s1/#"])
    s = SecureStations(cfg, broker, hub, monitor, tmp_path)
    try:
        assert hub.ready.wait(10), "the hub could not log in to the store broker"
        yield s
    finally:
        for station in s.made:
            station.point.stop()
            station.close()
        monitor.close()
        hub.stop()
        broker.stop()
