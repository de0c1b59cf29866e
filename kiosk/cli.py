"""``staffcall kiosk`` and ``staffcall kiosk-screens``: the customer's touch screen.

Kivy is imported only inside the handlers (and only after its environment is set),
so ``staffcall hub`` runs on a Pi without Kivy installed.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import re
from pathlib import Path

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


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{3,4})x(\d{3,4})", text.strip())
    if not m:
        raise SystemExit(f"staffcall: --size {text!r} must look like 800x480")
    return int(m.group(1)), int(m.group(2))


def configure_kivy(size: str = "800x480", fullscreen: bool = False) -> None:
    """Set Kivy's options before Kivy is imported: no argv parsing, our size, no red multitouch dots.

    Two settings are about memory (bench/kiosk.py prints the figures): no multisampling, because the
    GL driver keeps a multisampled copy of every window buffer (~12 MB at 800x480 under Mesa) for edges
    nobody sees on flat buttons and text; and SDL2 as the only image loader, so Pillow (~2 MB) is never
    imported for a kiosk that shows no pictures.
    """
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_IMAGE", "sdl2")
    from kivy.config import Config

    width, height = parse_size(size)
    screen = x11_screen_size() if fullscreen else None
    if screen:
        # Full screen asks the window manager; with none (X started by xinit, a bare kiosk session) SDL
        # reports the screen's size but leaves the window at its own, clipping the kiosk.  A borderless
        # window of the screen's size at 0,0 is full screen with or without one.
        width, height = screen
        Config.set("graphics", "borderless", "1")
        Config.set("graphics", "position", "custom")
        Config.set("graphics", "left", "0")
        Config.set("graphics", "top", "0")
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "resizable", "1")
    Config.set("graphics", "multisamples", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "keyboard_mode", "system")


def x11_screen_size() -> tuple[int, int] | None:
    """The X screen's size when the kiosk will draw on X11 (DISPLAY set, SDL not told otherwise), else None.

    Under KMS/DRM (the Pi unit) or Wayland there is nothing to ask: SDL fills the display itself.
    """
    driver = os.environ.get("SDL_VIDEODRIVER", "x11")
    if not os.environ.get("DISPLAY") or driver not in ("x11", ""):
        return None
    try:
        x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    except OSError:
        return None
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultScreen.argtypes = x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    x11.XDisplayWidth.argtypes = x11.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
    display = x11.XOpenDisplay(None)
    if not display:
        return None
    try:
        screen = x11.XDefaultScreen(display)
        return x11.XDisplayWidth(display, screen), x11.XDisplayHeight(display, screen)
    finally:
        x11.XCloseDisplay(display)


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
