"""``staffcall kiosk`` and ``staffcall kiosk-screens``: the customer's touch screen.

Kivy is imported only inside the handlers (and only after its environment is set),
so ``staffcall hub`` runs on a Pi without Kivy installed.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from kiosk.kivyenv import configure_kivy, parse_size

DEFAULT_SIZES = "800x480,1280x800,1920x1080,480x800,800x1280,1080x1920"
"""Landscape: the Pi 7" display, a 10.1" tablet panel, a 1080p monitor; portrait: the same screens turned."""


def register(sub: argparse._SubParsersAction) -> None:
    kiosk = sub.add_parser(
        "kiosk",
        help="run the customer kiosk (Kivy touch screen)",
        description="Run the customer's call-staff kiosk for one device of the config.\n\n"
        "Example: staffcall kiosk --config staffcall.toml --device kiosk-1 --windowed --size 800x480",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kiosk.add_argument("--config", "-c", default="staffcall.toml", help="the store's TOML config")
    kiosk.add_argument("--device", required=True, help="this kiosk's id from [[devices]]")
    kiosk.add_argument("--windowed", action="store_true", help="a window instead of full screen (desks, testing)")
    kiosk.add_argument("--size", default="800x480", help="window size WIDTHxHEIGHT when windowed (default 800x480)")
    kiosk.add_argument(
        "--outbox",
        default=None,
        help="the call outbox (SQLite); default: DEVICE.outbox.db next to the config, or $STATE_DIRECTORY",
    )
    kiosk.set_defaults(func=run_kiosk)

    shots = sub.add_parser(
        "kiosk-screens",
        help="render every kiosk screen to PNG files (for docs and review)",
        description="Render every kiosk screen at 800x480, 1280x800, 1920x1080 and portrait 480x800, 800x1280, "
        "1080x1920 (or --sizes) into PNG files, using a "
        "sample store; starts a private Xvfb when there is no display.\n\n"
        "Example: staffcall kiosk-screens --out docs/screens",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    shots.add_argument("--out", default="docs/screens", help="folder for the PNG files (default docs/screens)")
    shots.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated WIDTHxHEIGHT list")
    shots.add_argument("--lang", default="en", help="language of the screens (default en)")
    shots.set_defaults(func=run_screens)


def default_outbox(config_path: str, device: str) -> str:
    state_dir = os.environ.get("STATE_DIRECTORY")  # set by systemd's StateDirectory=
    base = Path(state_dir.split(":")[0]) if state_dir else Path(config_path).resolve().parent
    return str(base / f"{device}.outbox.db")


def run_kiosk(args: argparse.Namespace) -> int:
    from broker.contract.config import ConfigError, load_config

    cfg = load_config(args.config)
    device = cfg.devices_by_id.get(args.device)
    if device is None:
        known = ", ".join(d.id for d in cfg.devices if d.kind == "kiosk") or "none"
        raise ConfigError(f"{args.config}: no [[devices]] entry with id {args.device!r}; kiosks there: {known}")
    configure_kivy(args.size, fullscreen=cfg.kiosk.fullscreen and not args.windowed)
    from kiosk.app import KioskApp

    KioskApp(cfg, args.device, args.outbox or default_outbox(args.config, args.device)).run()
    return 0


def run_screens(args: argparse.Namespace) -> int:
    from kiosk.shots import render

    sizes = [parse_size(s) for s in args.sizes.split(",")]
    for path in render(Path(args.out), sizes, args.lang):
        print(path)
    return 0
