"""Kivy's environment for our apps: options set before Kivy is imported, the window's size, a PNG of it.

Kivy reads its options when first imported, so every way of starting the kiosk (``staffcall kiosk``,
the screenshot renderer, the remote driver of the tests, the benches) calls ``configure_kivy`` first;
nothing here imports Kivy at module level, so ``staffcall hub`` can import the kiosk's CLI on a Pi
without Kivy.

Example::

    configure_kivy("800x480")        # then: from kiosk.app import KioskApp
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
from pathlib import Path


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


def save_window(path: str) -> None:
    """A PNG of the whole window (popups included), as the customer sees it."""
    from kivy.core.window import Window

    target = Path(path).resolve()
    written = Window.screenshot(name=str(target.with_name(target.stem + "-tmp.png")))
    os.replace(written, target)
