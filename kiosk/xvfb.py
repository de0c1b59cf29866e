"""A private X server for the Kivy apps without a screen: the UI tests, the kiosk bench, the screenshots.

``-displayfd`` lets Xvfb pick a free display number itself, so parallel test runs never
collide on ``:99``.

Example::

    with Xvfb("800x480") as xvfb:
        env = {**os.environ, "DISPLAY": xvfb.display}
"""

from __future__ import annotations

import os
import shutil
import subprocess


class Xvfb:
    """Xvfb on a display of its own choosing; ``size`` is ``WxH`` (24-bit colour) or ``WxHxDEPTH``."""

    def __init__(self, size: str = "1280x800") -> None:
        if not shutil.which("Xvfb"):
            raise RuntimeError("Xvfb is missing: install xvfb (deploy/install-deps.sh test), or run under a desktop")
        screen = size if size.count("x") == 2 else f"{size}x24"
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(w), "-screen", "0", screen, "-nolisten", "tcp"],
            pass_fds=(w,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(w)
        with os.fdopen(r) as f:
            number = f.readline().strip()
        if not number:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)

    def __enter__(self) -> Xvfb:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
