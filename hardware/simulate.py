"""``staffcall buttons --simulate``: press mock-pin stations from the keyboard, watch their lights.

Keys: ``1``-``9`` press station 1-9; ``h`` then a digit, or Shift+digit, holds it for hold_s
("greeted here"); ``q`` quits.  On a terminal keys act at once; from a pipe, one command a line
(``1``, ``h2``, ``q``).  The lights are read back from the mock pins, so what is shown is what a
real LED would do.  On a terminal, log lines are printed by the live table's console, above the
table, so they never scramble it.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import select
import sys
import threading
import time
from collections.abc import Iterator

from rich.console import Console
from rich.live import Live
from rich.logging import RichHandler
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


class KeyCommands:
    """Keys typed on a terminal -> commands for ``handle``; every character counts, however fast.

    A terminal read can hold several keys ("h1" typed quickly), and a multi-byte character may be
    split across two reads: bytes are decoded incrementally and each character is handled.

    Example::

        >>> keys = KeyCommands()
        >>> keys.feed(b"h1"), keys.feed(b"2q")
        (['h1'], ['2', 'q'])
        >>> keys.feed(b"h"), keys.holding, keys.feed(b"3")
        ([], True, ['h3'])
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.holding = False

    def feed(self, data: bytes) -> list[str]:
        commands = []
        for key in self._decoder.decode(data):
            if key == "h":
                self.holding = True
            elif not key.isspace():
                commands.append(("h" if self.holding else "") + key)
                self.holding = False
        return commands


@contextlib.contextmanager
def logs_through(console: Console) -> Iterator[None]:
    """Send log records to ``console`` while a Live display owns the terminal (then restore)."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [RichHandler(console=console, show_path=False, markup=False)]
    try:
        yield
    finally:
        root.handlers = saved


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
    keys, note = KeyCommands(), ""
    try:
        tty.setcbreak(fd)
        with Live(_table(stations, note), refresh_per_second=10, screen=False) as live, logs_through(live.console):
            while True:
                ready, _, _ = select.select([fd], [], [], 0.1)
                if ready:
                    data = os.read(fd, 64)
                    if not data:
                        return  # the terminal went away
                    for command in keys.feed(data):
                        note = handle(stations, command)
                        if note == "quit":
                            return
                    if keys.holding:
                        note = "hold: which station?"
                live.update(_table(stations, note))
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
