"""Remote control for the staff app: drive the real Kivy app by touch events over stdin.

Used by the UI tests and by the screenshot command: another process (pytest, the
screenshot script) sends one JSON command per line and reads one JSON reply per line
prefixed with ``@@``.  Taps are real touch events dispatched through Kivy's event
loop at the button's position on screen, so the app cannot tell them from a finger.

Commands::

    {"op": "info"}                          screen, visible texts, disabled buttons, flashing, chimes
    {"op": "tap", "text": "On my way"}      tap the visible, enabled button with this text
    {"op": "type", "text": "4711"}          type into the focused text field, as the keyboard does
    {"op": "screenshot", "path": "x.png"}   save what the window shows
    {"op": "quit"}

Example::

    DISPLAY=:99 python -m staff_pager.uidriver -c staffcall.toml --lang en
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from broker.contract.config import load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", "-c", required=True)
    parser.add_argument("--lang", default=None)
    parser.add_argument("--staff", default=None)
    args = parser.parse_args(argv)
    cfg = load_config(args.config)

    from staff_pager.app import make_app

    app = make_app(cfg, staff=args.staff, lang=args.lang, fullscreen=False)

    from kivy.clock import Clock
    from kivy.tests.common import UnitTestTouch
    from kivy.uix.button import Button
    from kivy.uix.label import Label
    from kivy.uix.textinput import TextInput

    out_lock = threading.Lock()

    def reply(obj: dict[str, Any]) -> None:
        with out_lock:
            sys.stdout.write("@@" + json.dumps(obj) + "\n")
            sys.stdout.flush()

    def visible(widget) -> bool:
        w = widget
        while w is not None and w is not app.root:
            if getattr(w, "opacity", 1) == 0:
                return False
            w = w.parent
        return True

    def widgets():
        screen = app.sm.current_screen
        return [w for w in screen.walk(restrict=True) if isinstance(w, Label | Button) and visible(w)]

    def settle_layout() -> None:
        """Lay out now what changed since the last frame: a list rebuilt just before a tap has its new rows
        at their default places until the next frame, and a touch aimed at them would hit another row."""
        from kivy.uix.layout import Layout

        for _ in range(2):  # a second pass for sizes that follow the children's
            for w in app.sm.current_screen.walk(restrict=True):
                if isinstance(w, Layout):
                    w.do_layout()

    def handle(cmd: dict[str, Any]) -> None:
        op = cmd.get("op")
        try:
            if op == "info":
                ws = widgets()
                reply(
                    {
                        "screen": app.sm.current,
                        "texts": [w.text for w in ws if w.text],
                        "disabled": [w.text for w in ws if isinstance(w, Button) and w.disabled and w.text],
                        "flashing": bool(app.page.alerting) and app.sm.current == "page",
                        "flashes": app.page.flashes,
                        "chimes": app.chime.played,
                        "error": app.last_error,
                        "connected": bool(app.link and app.link.connected),
                    }
                )
            elif op == "tap":
                settle_layout()
                matches = [w for w in widgets() if isinstance(w, Button) and w.text == cmd["text"] and not w.disabled]
                nth = int(cmd.get("nth", 0))
                if len(matches) <= nth:
                    reply({"error": f"no enabled button {cmd['text']!r} on screen {app.sm.current!r}"})
                    return
                x, y = matches[nth].to_window(*matches[nth].center)
                touch = UnitTestTouch(x, y)
                touch.touch_down()
                touch.touch_up()
                reply({"ok": True})
            elif op == "type":
                from kivy.core.window import Window

                fields = [w for w in app.sm.current_screen.walk(restrict=True) if isinstance(w, TextInput)]
                focused = [w for w in fields if w.focus and visible(w)]
                if not focused:
                    reply({"error": f"no focused text field on screen {app.sm.current!r}"})
                    return
                for ch in cmd["text"]:
                    Window.dispatch("on_textinput", ch)  # the path a key press takes to the focused field
                reply({"ok": True, "length": len(focused[0].text)})
            elif op == "screenshot":
                app.root.export_to_png(cmd["path"])
                reply({"ok": True, "path": cmd["path"]})
            elif op == "quit":
                reply({"ok": True})
                app.stop()
            else:
                reply({"error": f"unknown op {op!r}"})
        except Exception as exc:  # report, keep the app running for the next command
            reply({"error": repr(exc)})

    def read_stdin() -> None:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                cmd = json.loads(line)
            except json.JSONDecodeError as exc:
                reply({"error": f"bad JSON: {exc}"})
                continue
            Clock.schedule_once(lambda dt, c=cmd: handle(c), 0)
        Clock.schedule_once(lambda dt: app.stop(), 0)

    def ready(dt: float) -> None:
        threading.Thread(target=read_stdin, daemon=True).start()
        reply({"ready": True})

    Clock.schedule_once(ready, 0.5)
    app.run()
    return 0


# --- the other end: used by tests and the screenshot command -------------------------------


class Xvfb:
    """A private X server on a free display number (``-displayfd`` lets Xvfb pick it)."""

    def __init__(self, size: str = "480x800x24") -> None:
        if shutil.which("Xvfb") is None:
            raise RuntimeError("Xvfb is not installed; run deploy/install-deps.sh test")
        read, write = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", size, "-nolisten", "tcp"],
            pass_fds=(write,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write)
        with os.fdopen(read) as f:
            number = f.readline().strip()
        if not number:
            self.proc.kill()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


class Remote:
    """Starts ``python -m staff_pager.uidriver`` and talks to it."""

    def __init__(self, config_path: str | Path, display: str, kivy_home: str | Path, *extra: str) -> None:
        env = {**os.environ, "DISPLAY": display, "KIVY_NO_ARGS": "1", "KIVY_HOME": str(kivy_home)}
        env.pop("WAYLAND_DISPLAY", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "staff_pager.uidriver", "-c", str(config_path), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=env,
        )
        self.log: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        first = self._read(60)
        if not first.get("ready"):
            raise RuntimeError(f"the app did not start: {first}; log:\n" + "\n".join(self.log[-30:]))

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self.log.append(line.rstrip())

    def _read(self, timeout: float) -> dict[str, Any]:
        result: list[str] = []

        def read() -> None:
            for line in self.proc.stdout:
                if line.startswith("@@"):
                    result.append(line[2:])
                    return

        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(timeout)
        if not result:
            raise RuntimeError(f"no reply from the app within {timeout}s; log:\n" + "\n".join(self.log[-30:]))
        return json.loads(result[0])

    def send(self, **cmd: Any) -> dict[str, Any]:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read(20)

    def info(self) -> dict[str, Any]:
        return self.send(op="info")

    def tap(self, text: str, nth: int = 0) -> None:
        reply = self.send(op="tap", text=text, nth=nth)
        if "error" in reply:
            raise AssertionError(f"{reply['error']}; screen shows {self.info()}")

    def type(self, text: str) -> None:
        reply = self.send(op="type", text=text)
        if "error" in reply:
            raise AssertionError(reply["error"])

    def screenshot(self, path: str | Path) -> Path:
        self.send(op="screenshot", path=str(path))
        return Path(path)

    def wait(self, pred, timeout: float = 10.0) -> dict[str, Any]:
        """Poll ``info`` until ``pred(info)`` holds."""
        deadline = time.monotonic() + timeout
        info = self.info()
        while not pred(info):
            if time.monotonic() > deadline:
                raise AssertionError(f"the app never showed what was expected; last: {info}")
            time.sleep(0.05)
            info = self.info()
        return info

    def wait_text(self, text: str, timeout: float = 10.0) -> dict[str, Any]:
        return self.wait(lambda i: any(text in t for t in i["texts"]), timeout)

    def close(self) -> int:
        if self.proc.poll() is None:
            try:
                self.send(op="quit")
                self.proc.wait(10)
            except (RuntimeError, OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


if __name__ == "__main__":
    sys.exit(main())
