"""The composition root of ``staffcall buttons``: config -> pin factory, call points, stations.

Example::

    stations = ButtonStations(load_config("staffcall.toml"), simulate=True)
    stations.start()
    ...
    stations.stop()
"""

from __future__ import annotations

import importlib
import logging
import socket
from pathlib import Path

from gpiozero.pins import Factory

from broker.callpoint.callpoint import CallPoint
from broker.callpoint.cues import cues_for
from broker.contract.config import Config, ConfigError, Device
from hardware.station import ButtonStation

log = logging.getLogger(__name__)

PIN_FACTORIES = {
    "lgpio": "gpiozero.pins.lgpio:LGPIOFactory",
    "rpigpio": "gpiozero.pins.rpigpio:RPiGPIOFactory",
    "pigpio": "gpiozero.pins.pigpio:PiGPIOFactory",
    "native": "gpiozero.pins.native:NativeFactory",
    "mock": "gpiozero.pins.mock:MockFactory",
}
"""``[buttons] pin_factory`` names; set one explicitly on a Pi 4/5 ("lgpio") instead of trusting a fallback."""


def make_pin_factory(name: str | None) -> Factory | None:
    """The named gpiozero pin factory, or None for gpiozero's default (``GPIOZERO_PIN_FACTORY``)."""
    if name is None:
        return None
    module, cls = PIN_FACTORIES[name].split(":")
    try:
        return getattr(importlib.import_module(module), cls)()
    except Exception as exc:  # noqa: BLE001 - every backend fails its own way off a Pi
        raise ConfigError(
            f"[buttons] pin_factory: {name!r} cannot start here ({exc}); on a Pi 4/5 install python3-lgpio "
            "and use \"lgpio\", or run 'staffcall buttons --simulate' on another computer"
        ) from None


def station_devices(cfg: Config, only: list[str] | None = None, host: str | None = None) -> list[Device]:
    """The button stations this Pi drives: kind "button" with a button_pin, for this host or any."""
    host = host or socket.gethostname()
    found = [d for d in cfg.devices if d.kind == "button" and d.button_pin is not None and d.gpio_host in (None, host)]
    if only:
        unknown = set(only) - {d.id for d in found}
        if unknown:
            raise ConfigError(
                f"--only: {', '.join(sorted(unknown))} is not a button station with a button_pin for host {host!r}"
            )
        found = [d for d in found if d.id in only]
    if not found:
        raise ConfigError(
            f"[[devices]]: no station of kind 'button' with a button_pin for host {host!r}; "
            "add button_pin = 17 and led_pin = 27 to a button device (see staffcall.example.toml)"
        )
    return found


class ButtonStations:
    """Every station of this Pi, each with its own call point (own MQTT client id, Will and outbox)."""

    def __init__(self, cfg: Config, simulate: bool = False, only: list[str] | None = None) -> None:
        self.cfg = cfg
        if simulate:
            from gpiozero.pins.mock import MockFactory

            self.pin_factory: Factory | None = MockFactory()
        else:
            self.pin_factory = make_pin_factory(cfg.buttons.pin_factory)
        outbox = Path(cfg.buttons.outbox_dir)
        outbox.mkdir(parents=True, exist_ok=True)
        self.stations: list[ButtonStation] = []
        for dev in station_devices(cfg, only):
            point = CallPoint(cfg, dev.id, str(outbox / f"{dev.id}.outbox.db"))
            cues = cues_for(cfg, dev.id, outbox / f"{dev.id}.cues")
            self.stations.append(
                ButtonStation(
                    dev, point, cfg.buttons.hold_s, cfg.buttons.bounce_s, pin_factory=self.pin_factory, cues=cues
                )
            )

    def start(self) -> None:
        for s in self.stations:
            s.point.start()
        log.info("driving %d button station(s): %s", len(self.stations), ", ".join(s.device.id for s in self.stations))

    def stop(self) -> None:
        for s in self.stations:
            s.point.stop()
            s.close()
