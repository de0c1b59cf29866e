"""``staffcall buttons``: run this Pi's call-button stations (or simulate them from the keyboard)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading

from broker.contract.config import add_config

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser(
        "buttons",
        help="run the GPIO call-button stations of this Pi (long-running service)",
        description='Drive the call-button stations ([[devices]] of kind "button" with a button_pin) on this Pi: '
        'a press calls staff, the light shows the call\'s progress, a long hold means "greeted here".\n'
        "With --simulate the pins are gpiozero's mock pins: keys 1-9 press a station, h then a digit (or "
        "Shift+digit) holds it, q quits; the terminal shows each light.\n\n"
        "Example: staffcall buttons --config /etc/staffcall/staffcall.toml\n"
        "Example: staffcall buttons --config staffcall.toml --simulate",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config(cmd)
    cmd.add_argument("--simulate", action="store_true", help="mock pins and keyboard presses instead of GPIO")
    cmd.add_argument("--only", default=None, help="comma-separated station ids to drive (default: all of this Pi)")
    cmd.set_defaults(func=run_buttons)


def run_buttons(args: argparse.Namespace) -> int:
    from broker.contract.config import load_config
    from hardware.stations import ButtonStations

    cfg = load_config(args.config)
    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    stations = ButtonStations(cfg, simulate=args.simulate, only=only)
    stations.start()
    try:
        if args.simulate:
            from hardware.simulate import run_simulation

            run_simulation(stations)
        else:
            done = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: done.set())
            with contextlib.suppress(KeyboardInterrupt):
                done.wait()
    finally:
        stations.stop()
    return 0
