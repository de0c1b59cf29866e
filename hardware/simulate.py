"""``staffcall buttons --simulate``: press mock-pin stations from the keyboard, watch their lights.

Keys: ``1``-``9`` press station 1-9; ``h`` then a digit, or Shift+digit, holds it for hold_s
("greeted here"); ``q`` quits.  On a terminal keys act at once; from a pipe, one command a line
(``1``, ``h2``, ``q``), which is how the tests drive it.  The lights are read back from the mock
pins, so what is shown is what a real LED would do.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time

from rich.live import Live
from rich.table import Table

from hardware.station import ButtonStation
from hardware.stations import ButtonStations

SHIFTED = {c: str(i) for chars in ("!@#$%^&*(", '!"#¤%&/()') for i, c in enumerate(chars, 1)}
"""Shift+digit on US and Nordic keyboards."""


_fingers: dict[str, threading.Lock] = {}


def _press(station: ButtonStation, hold: bool) -> None:
    """Press (or hold) in the background; presses of one station queue up like one finger's."""
    finger = _fingers.setdefault(station.device.id, threading.Lock())

    def run() -> None:
        with finger:
            station.button.pin.drive_low()
            time.sleep(station.logic.hold_s + 0.1 if hold else 0.15)
            station.button.pin.drive_high()
            time.sleep(station.logic.bounce_s + 0.05)  # let go fully before the next press

    threading.Thread(target=run, daemon=True).start()


def _led_text(station: ButtonStation) -> str:
    led = station.led
    if led is None:
        return "-"
    if hasattr(led, "_leds"):  # RGBLED: one dot per colour
        dots = zip(("red", "green", "blue"), led._leds, strict=True)
        return "".join(f"[{c}]●[/]" if part.value else "○" for c, part in dots)
    return "[bold yellow]●[/]" if led.value else "○"


def _table(stations: ButtonStations, note: str) -> Table:
    table = Table(title="staffcall buttons (simulated)", caption=note + "  keys: 1-9 press, h+digit hold, q quit")
    for col in ("key", "station", "zone", "LED", "pattern", "call", "status", "tier", "link"):
        table.add_column(col)
    for i, s in enumerate(stations.stations, 1):
        table.add_row(
            str(i) if i <= 9 else "",
            s.device.id,
            s.device.zone,
            _led_text(s),
            s.light.name if s.light else "",
            (s.call_id or "")[-13:],
            s.status or "",
            str(s.tier) if s.call_open else "",
            "online" if s.connected else "[red]offline[/]",
        )
    return table


def handle(stations: ButtonStations, command: str) -> str:
    """One command (``1``, ``h1``, ``!``, ``q``); returns what happened, or "quit"."""
    command = command.strip()
    if command in ("q", "quit"):
        return "quit"
    hold = command.startswith("h") or command[:1] in SHIFTED
    digit = SHIFTED.get(command[:1], command.lstrip("h")[:1])
    if not digit.isdigit() or not 1 <= int(digit) <= len(stations.stations):
        return f"no station {command!r}" if command else ""
    station = stations.stations[int(digit) - 1]
    _press(station, hold)
    return f"{'held' if hold else 'pressed'} {station.device.id}"


def run_simulation(stations: ButtonStations) -> None:
    if sys.stdin.isatty():
        _run_tty(stations)
    else:
        for line in sys.stdin:
            result = handle(stations, line)
            if result == "quit":
                return
            print(result, flush=True)
            for s in stations.stations:
                print(f"{s.device.id}: light={s.light.name if s.light else ''} status={s.status}", flush=True)


def _run_tty(stations: ButtonStations) -> None:
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    note, pending_hold = "", False
    try:
        tty.setcbreak(fd)
        with Live(_table(stations, note), refresh_per_second=10, screen=False) as live:
            while True:
                ready, _, _ = select.select([fd], [], [], 0.1)
                if ready:
                    key = os.read(fd, 4).decode("utf-8", "replace")[:1]
                    if key == "h":
                        pending_hold, note = True, "hold: which station?"
                    else:
                        note = handle(stations, ("h" if pending_hold else "") + key)
                        pending_hold = False
                        if note == "quit":
                            return
                live.update(_table(stations, note))
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
