"""The other end of ``kiosk.remote``: run the real kiosk app in a child process under a private Xvfb and
drive it as a finger does (taps, holds, keys), reading back what it shows.

The tests (``tests/kiosk``) and ``bench/kiosk.py`` share it, so they drive the app one way.

Example::

    xvfb = Xvfb()
    kiosk = KioskProcess(xvfb.display, Path("staffcall.toml"), "kiosk-1", Path("outbox.db"), Path("kivy-home"))
    kiosk.wait_view(lambda v: v["connected"])
    kiosk.tap("call_button")
    kiosk.close()
    xvfb.stop()
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class KioskRemoteError(AssertionError):
    """The kiosk did not answer or never showed what was awaited (an AssertionError: in a test it is a failed check)."""


class Xvfb:
    """A private X server; ``-displayfd`` lets Xvfb pick a free display number itself."""

    def __init__(self, size: str = "1280x800") -> None:
        if not shutil.which("Xvfb"):
            raise RuntimeError("Xvfb is missing: sudo apt-get install xvfb (deploy/install-deps.sh test)")
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(w), "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
            pass_fds=(w,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(w)
        with os.fdopen(r) as f:
            number = f.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


class KioskProcess:
    """The real kiosk app (``python -m kiosk.remote``) in a child process on ``display``."""

    def __init__(
        self,
        display: str,
        config: Path,
        device: str,
        outbox: Path,
        kivy_home: Path,
        size: str = "800x480",
        *,
        offline: bool = False,
    ):
        env = {
            **os.environ,
            "DISPLAY": display,
            "KIVY_NO_ARGS": "1",
            "KIVY_NO_CONSOLELOG": "1",
            "KIVY_NO_FILELOG": "1",
            "KIVY_HOME": str(kivy_home),
            "PYTHONPATH": str(ROOT),
        }
        if os.environ.get("KIOSK_TEST_LOG"):  # show Kivy's log when debugging a test
            env.pop("KIVY_NO_CONSOLELOG")
        cmd = [sys.executable, "-m", "kiosk.remote", "--config", str(config), "--device", device]
        cmd += ["--outbox", str(outbox), "--size", size] + (["--offline"] if offline else [])
        self.proc = subprocess.Popen(
            cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
        )
        self.replies: queue.Queue[dict] = queue.Queue()
        self.flips: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        ready = self._next(30)
        if not ready.get("ready"):
            raise KioskRemoteError(f"the kiosk did not start: {ready}")

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("@@ "):
                msg = json.loads(line[3:])
                (self.flips if msg.get("event") == "flip" else self.replies).put(msg)
        err = self.proc.stderr.read()[-3000:]
        self.replies.put({"ok": False, "error": f"the kiosk process ended ({self.proc.wait()}): {err}"})

    def _next(self, timeout: float) -> dict:
        try:
            return self.replies.get(timeout=timeout)
        except queue.Empty:
            raise KioskRemoteError(f"the kiosk did not answer within {timeout}s") from None

    def send(self, timeout: float = 10.0, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        reply = self._next(timeout)
        if not reply.get("ok"):
            raise KioskRemoteError(f"the kiosk refused {cmd}: {reply}")
        return reply

    def tap(self, wid: str) -> dict:
        """Tap like a finger, once the screen has settled (the screen manager ignores touches mid-fade)."""
        self.wait_view(lambda v: not v["transition"])
        return self.send(op="tap", id=wid)

    def view(self) -> dict:
        return self.send(op="view")

    def wait_view(self, pred, timeout: float = 8.0) -> dict:
        """Poll the app's view until ``pred`` holds (a condition, not a fixed sleep)."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.view()
            if pred(v):
                return v
            if time.monotonic() > deadline:
                raise KioskRemoteError(f"the kiosk never reached the expected view; last: {v}")
            time.sleep(0.03)

    def wait_layout(self, pred, timeout: float = 8.0) -> dict:
        """The widget boxes (kiosk.remote's ``layout``), once ``pred`` holds and two frames in a row agree."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            lay = self.send(op="layout")
            if pred(lay) and lay == last:
                return lay
            if time.monotonic() > deadline:
                raise KioskRemoteError(f"the layout never settled; last: {lay}")
            last = lay
            time.sleep(0.05)

    def wait_text(self, fragment: str, timeout: float = 8.0) -> dict:
        return self.wait_view(lambda v: any(fragment in t for t in v["texts"]), timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
