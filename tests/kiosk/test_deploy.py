"""The real ``staffcall kiosk`` command with the Pi's settings from deploy/kiosk.

SDL's KMS/DRM video driver needs a Pi's display, so only ``SDL_VIDEODRIVER`` is swapped
for x11 on a private 1024x600 Xvfb (a common 7" panel; not the kiosk's default window
size, so a window that fills it shows that full screen works).  The rest is what
the Pi runs: the unit's ``Environment=`` lines, deploy/kiosk/config.ini as ``KIVY_HOME``,
``STATE_DIRECTORY`` for the outbox as systemd's ``StateDirectory=`` sets it, full screen,
and a key press through XTEST on the focused Call button, which is what a USB keypad or
an accessibility switch does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.kiosk.harness import ROOT, Xvfb

DEPLOY = ROOT / "deploy" / "kiosk"
XK_RETURN = 0xFF0D


def unit_environment(unit: Path) -> dict[str, str]:
    env = {}
    for line in unit.read_text().splitlines():
        if line.startswith("Environment="):
            key, value = line.removeprefix("Environment=").split("=", 1)
            env[key] = value
    return env


class Keypad:
    """Key presses into an X display through the XTEST extension, like a USB keypad's."""

    def __init__(self, display: str) -> None:
        self.x11 = ctypes.CDLL(ctypes.util.find_library("X11"))
        self.xtst = ctypes.CDLL(ctypes.util.find_library("Xtst"))
        self.x11.XOpenDisplay.restype = ctypes.c_void_p
        self.x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self.x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        self.x11.XFlush.argtypes = [ctypes.c_void_p]
        self.x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self.xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
        self.dpy = self.x11.XOpenDisplay(display.encode())
        assert self.dpy, f"cannot open X display {display}"

    def press(self, keysym: int) -> None:
        code = self.x11.XKeysymToKeycode(self.dpy, keysym)
        for down in (1, 0):
            assert self.xtst.XTestFakeKeyEvent(self.dpy, code, down, 0)
        self.x11.XFlush(self.dpy)

    def close(self) -> None:
        self.x11.XCloseDisplay(self.dpy)


def kiosk_window(display: str, title: str) -> tuple[int, int] | None:
    """The size of the window with this title, from xwininfo, or None while there is none."""
    out = subprocess.run(["xwininfo", "-root", "-tree", "-display", display], capture_output=True, text=True).stdout
    m = re.search(rf'"{re.escape(title)}".*?\s(\d+)x(\d+)[+-]', out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def test_staffcall_kiosk_runs_full_screen_with_the_pi_settings(kconfig_path, khub, klistener, tmp_path):
    home, state = tmp_path / "kivy", tmp_path / "state"
    home.mkdir()
    state.mkdir()
    shutil.copy(DEPLOY / "config.ini", home / "config.ini")
    xvfb = Xvfb("1024x600")
    try:
        out = run_kiosk_with_the_unit_settings(xvfb, kconfig_path, home, state, klistener)
    finally:
        xvfb.stop()
    assert "kiosk error" not in out, out


def run_kiosk_with_the_unit_settings(xvfb: Xvfb, config: Path, home: Path, state: Path, klistener) -> str:
    env = {
        **os.environ,
        **unit_environment(DEPLOY / "staffcall-kiosk.service"),
        "KIVY_HOME": str(home),
        "STATE_DIRECTORY": str(state),
        "SDL_VIDEODRIVER": "x11",  # the one change: no KMS/DRM display here
        "DISPLAY": xvfb.display,
        "PYTHONPATH": str(ROOT),
    }
    keypad = Keypad(xvfb.display)
    cmd = [sys.executable, "-m", "broker.cli", "kiosk", "--config", str(config), "--device", "kiosk-1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while (size := kiosk_window(xvfb.display, "staffcall kiosk kiosk-1")) != (1024, 600):
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, f"no full-screen kiosk window (found {size})"
            time.sleep(0.3)
        assert (state / "kiosk-1.outbox.db").exists(), "the outbox is not in systemd's StateDirectory"
        time.sleep(1.5)  # connected, Welcome drawn, the Call button focused

        start = len(klistener.messages)
        keypad.press(XK_RETURN)
        call = klistener.wait_for(lambda m: m.topic == "staffcall/s1/call/kiosk-1", timeout=10, start=start)
        assert call.json["id"] and call.json["at"]
        assert proc.poll() is None
    finally:
        keypad.close()
        proc.terminate()
        try:
            out = proc.communicate(timeout=15)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            out = proc.communicate()[0]
    # systemctl stop sends SIGTERM: SDL turns it into a quit, the app stops and closes its MQTT session
    assert proc.returncode == 0, out
    return out
