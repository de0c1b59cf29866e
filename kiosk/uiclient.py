"""The other end of ``kiosk.kivyui``: run a real Kivy app in a child process and drive it as a finger does.

The kiosk's and the staff app's tests, ``bench/kiosk.py`` and the staff app's screenshots
share it, so every app is driven one way, with the same verbs: ``view``, ``tap``, ``hold``,
``key``, ``type``, ``shot``, and ``wait_view`` / ``wait_text`` (wait on a condition, never a
fixed sleep).

Example::

    with Xvfb() as xvfb:
        kiosk = KioskProcess(xvfb.display, Path("staffcall.toml"), "kiosk-1", Path("outbox.db"), Path("kivy-home"))
        kiosk.wait_view(lambda v: v["connected"])
        kiosk.tap("call_button")
        kiosk.close()
"""

from __future__ import annotations

import collections
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.xvfb import Xvfb

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["ROOT", "AppProcess", "KioskProcess", "KioskRemoteError", "UIDriverError", "Xvfb"]


class UIDriverError(AssertionError):
    """The app did not answer, refused a command or never showed what was awaited.

    An AssertionError: in a test it is a failed check, and it carries the app's last log lines.
    """


KioskRemoteError = UIDriverError
"""The name the kiosk's tests know it by."""


class AppProcess:
    """A Kivy app with its ``kiosk.kivyui`` driver (``python -m <module> <args>``) on ``display``.

    ``quiet``: no Kivy console log (the bench's memory figures); otherwise the last lines of
    the app's stderr are kept and shown in every error.
    """

    START_S = 60.0
    """Kivy's first start on a loaded 2-core machine can take half a minute."""

    def __init__(
        self, module: str, args: list[str], display: str, kivy_home: Path | str, *, quiet: bool = False
    ) -> None:
        env = {
            **os.environ,
            "DISPLAY": display,
            "KIVY_NO_ARGS": "1",
            "KIVY_NO_FILELOG": "1",
            "KIVY_HOME": str(kivy_home),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        env.pop("WAYLAND_DISPLAY", None)  # draw on the private X server, not the developer's desktop
        if quiet and not os.environ.get("KIOSK_TEST_LOG"):  # KIOSK_TEST_LOG=1 shows Kivy's log when debugging
            env["KIVY_NO_CONSOLELOG"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.log: collections.deque[str] = collections.deque(maxlen=60)
        self.replies: queue.Queue[dict] = queue.Queue()
        self.flips: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._drain, daemon=True).start()
        threading.Thread(target=self._read, daemon=True).start()
        ready = self._next(self.START_S)
        if not ready.get("ready"):
            raise UIDriverError(f"the app did not start: {ready}{self._tail()}")

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self.log.append(line.rstrip())

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("@@ "):
                msg = json.loads(line[3:])
                (self.flips if msg.get("event") == "flip" else self.replies).put(msg)
        self.replies.put({"ok": False, "error": f"the app process ended ({self.proc.wait()})"})

    def _tail(self) -> str:
        return ("; log:\n" + "\n".join(list(self.log)[-30:])) if self.log else ""

    def _next(self, timeout: float) -> dict:
        try:
            return self.replies.get(timeout=timeout)
        except queue.Empty:
            raise UIDriverError(f"the app did not answer within {timeout}s{self._tail()}") from None

    def send(self, timeout: float = 20.0, **cmd: Any) -> dict:
        """One command, its reply; a refusal (``ok: false``) raises ``UIDriverError``."""
        try:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise UIDriverError(f"the app process ended ({self.proc.poll()}){self._tail()}") from None
        reply = self._next(timeout)
        if not reply.get("ok"):
            raise UIDriverError(f"the app refused {cmd}: {reply.get('error', reply)}{self._tail()}")
        return reply

    # --- the verbs ----------------------------------------------------------------------------

    def view(self) -> dict:
        return self.send(op="view")

    def tap(self, id: str | None = None, *, text: str | None = None, nth: int = 0) -> dict:
        """Tap like a finger, once the screen has settled (a screen manager ignores touches mid-transition)."""
        self.wait_view(lambda v: not v.get("transition"))
        target = {"id": id} if id is not None else {"text": text, "nth": nth}
        return self.send(op="tap", **target)

    def hold(self, id: str | None = None, *, text: str | None = None, s: float | None = None) -> dict:
        target = {"id": id} if id is not None else {"text": text}
        return self.send(op="hold", s=s, **target)

    def key(self, key: str) -> dict:
        return self.send(op="key", key=key)

    def type(self, text: str) -> dict:
        return self.send(op="type", text=text)

    def shot(self, path: str | Path) -> Path:
        self.send(op="shot", path=str(path))
        return Path(path)

    def wait_view(self, pred: Callable[[dict], bool], timeout: float = 10.0) -> dict:
        """Poll the app's view until ``pred`` holds (a condition, not a fixed sleep)."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.view()
            if pred(v):
                return v
            if time.monotonic() > deadline:
                raise UIDriverError(f"the app never showed what was expected within {timeout}s; last: {v}")
            time.sleep(0.03)

    def wait_text(self, fragment: str, timeout: float = 10.0) -> dict:
        return self.wait_view(lambda v: any(fragment in t for t in v["texts"]), timeout)

    def close(self) -> int | None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(10)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class KioskProcess(AppProcess):
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
        record_sounds: bool = False,
    ) -> None:
        args = ["--config", str(config), "--device", device, "--outbox", str(outbox), "--size", size]
        args += (["--offline"] if offline else []) + (["--record-sounds"] if record_sounds else [])
        super().__init__("kiosk.remote", args, display, kivy_home, quiet=True)

    def wait_layout(self, pred: Callable[[dict], bool], timeout: float = 10.0) -> dict:
        """The widget boxes (kiosk.remote's ``layout``), once ``pred`` holds and two frames in a row agree."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            lay = self.send(op="layout")
            if pred(lay) and lay == last:
                return lay
            if time.monotonic() > deadline:
                raise UIDriverError(f"the layout never settled; last: {lay}")
            last = lay
            time.sleep(0.05)
