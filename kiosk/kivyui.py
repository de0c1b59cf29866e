"""One way to drive a real Kivy app from another process: the kiosk and the staff app serve it alike.

The tests, the kiosk bench and the screenshot scripts start an app with its driver
(``python -m kiosk.remote`` or ``python -m staff_pager.uidriver``) under a display and send
one JSON object per line on stdin; each is answered by one line ``@@ {...}`` on stdout with
``"ok": true`` or ``"ok": false, "error": ...``.  Taps go through Kivy's real input path (a
motion event at the widget's centre), keys and typing through the window's key events, so
what is tested is what a finger or keypad does.  ``kiosk.uiclient`` is the other end.

The verbs every app serves (an app adds its own, e.g. the kiosk's ``layout``)::

    {"op": "view"}                            what the screen shows: screen, texts, connection, ...
    {"op": "tap", "id": "call_button"}        a widget id of what is shown ...
    {"op": "tap", "text": "On my way"}        ... or the visible, enabled button with this text ("nth": 1 the second)
    {"op": "hold", "id": "staff_button"}      press, keep pressed ("s": this long, default just past hold_s), release
    {"op": "key", "key": "enter"}             enter | spacebar | tab
    {"op": "type", "text": "4711"}            into the focused text field, as the keyboard does
    {"op": "shot", "path": "x.png"}           a PNG of the window as it is now
    {"op": "quit"}

A tap is answered at once; when the next frame is drawn one more line follows,
``{"ok": true, "event": "flip", "visual_ms": ...}`` (how long the tap took to show).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from abc import ABC, abstractmethod
from typing import Any

KEYCODES = {"enter": 13, "spacebar": 32, "tab": 9}


def make_touch(x: float, y: float):
    """A finger at window position (x, y), fed through Kivy's input path like a real touch.

    Like ``kivy.tests.common.UnitTestTouch``, without importing it: that module pulls in
    pytest, pygments and unittest (~10 MB), which would blur the bench's memory figures.
    """
    from kivy.base import EventLoop
    from kivy.input.motionevent import MotionEvent

    class Touch(MotionEvent):
        def depack(self, args) -> None:
            self.sx, self.sy = args["x"], args["y"]
            super().depack(args)

    win = EventLoop.window
    touch = Touch(
        "remote", 99, {"x": x / (win.width - 1.0), "y": y / (win.height - 1.0)}, is_touch=True, type_id="touch"
    )
    touch.profile = ["pos"]
    return touch


def press(touch, phase: str) -> None:
    """``phase`` is "begin" (finger down) or "end" (finger up)."""
    from kivy.base import EventLoop

    EventLoop.post_dispatch_input(phase, touch)


def visible(widget, root) -> bool:
    """Drawn at all: no ancestor up to ``root`` is fully transparent."""
    w = widget
    while w is not None and w is not root:
        if getattr(w, "opacity", 1) == 0:
            return False
        w = w.parent
    return True


class UIDriver(ABC):
    """The verbs above over an app; an app's driver says what its ``view`` shows and where its widgets are.

    Commands run on Kivy's main thread (``Clock.schedule_once``); only the stdin reader and
    ``reply`` run elsewhere.
    """

    def __init__(self, app, out=sys.stdout) -> None:
        self.app = app
        self.out = out
        self.lock = threading.Lock()
        self.frames = 0
        """Frames drawn since start: an idle app draws none (Kivy only draws when a canvas changed)."""

    # --- what an app's driver provides ------------------------------------------------------

    def roots(self) -> list:
        """The widget trees shown now (the screen, an open popup)."""
        return [self.app.sm.current_screen]

    def screen(self) -> str:
        return self.app.sm.current

    @abstractmethod
    def op_view(self) -> dict:
        """What the app shows now, for the test or bench that drives it (each app its own fields)."""

    def before_tap(self) -> None:
        """Called before a widget is looked up for a tap (e.g. to lay out rows rebuilt this frame)."""
        return None  # most apps need nothing here

    # --- serving ------------------------------------------------------------------------------

    def serve(self, delay: float = 0) -> None:
        """Start reading commands once the app runs, and say ``ready``; call before ``app.run()``."""
        from kivy.clock import Clock

        Clock.schedule_once(lambda _dt: (self.listen(), self.reply(ok=True, ready=True)), delay)

    def _count_frame(self, *_a) -> None:
        self.frames += 1

    def listen(self, stream=sys.stdin) -> None:
        from kivy.clock import Clock
        from kivy.core.window import Window

        Window.bind(on_flip=self._count_frame)

        def read() -> None:
            for line in stream:
                if line.strip():
                    Clock.schedule_once(lambda _dt, line=line: self.handle(line))
            Clock.schedule_once(lambda _dt: self.app.stop())

        threading.Thread(target=read, name="ui-driver", daemon=True).start()

    def reply(self, **values: Any) -> None:
        with self.lock:
            self.out.write("@@ " + json.dumps(values) + "\n")
            self.out.flush()

    def handle(self, line: str) -> None:
        try:
            cmd = json.loads(line)
            op = cmd.pop("op", None) if isinstance(cmd, dict) else None
            handler = getattr(self, f"op_{op}", None) if isinstance(op, str) else None
            if handler is None:
                raise ValueError(f"unknown command {line.strip()[:80]!r}; see kiosk/kivyui.py for the verbs")
            result = handler(**cmd)
            if result is not None:
                self.reply(ok=True, **result)
        except Exception as exc:  # a bad command must not kill the app under test
            self.reply(ok=False, error=f"{type(exc).__name__}: {exc}")

    # --- finding widgets -------------------------------------------------------------------

    def texts(self) -> list[str]:
        from kivy.uix.label import Label

        return [w.text for r in self.roots() for w in r.walk() if isinstance(w, Label) and w.text]

    def widget(self, wid: str):
        for root in reversed(self.roots()):  # a popup over the screen first
            if wid in root.ids:
                return root.ids[wid]
        raise KeyError(f"no widget {wid!r} on screen {self.screen()!r}; ids: {sorted(self.roots()[0].ids)}")

    def button(self, text: str, nth: int = 0):
        from kivy.uix.behaviors import ButtonBehavior
        from kivy.uix.label import Label

        matches = [
            w
            for r in self.roots()
            for w in r.walk(restrict=True)
            if isinstance(w, ButtonBehavior) and isinstance(w, Label) and w.text == text
            if not w.disabled and visible(w, self.app.root)
        ]
        if len(matches) <= nth:
            raise KeyError(f"no enabled button {text!r} on screen {self.screen()!r}")
        return matches[nth]

    def find(self, id: str | None, text: str | None, nth: int):
        self.before_tap()
        if id is not None:
            return self.widget(id)
        if text is not None:
            return self.button(text, nth)
        raise ValueError("tap and hold need an 'id' or a 'text'")

    # --- the verbs ----------------------------------------------------------------------------

    def op_tap(self, id: str | None = None, text: str | None = None, nth: int = 0) -> dict:
        from kivy.core.window import Window

        w = self.find(id, text, nth)
        x, y = w.to_window(*w.center)

        def on_flip(*_a) -> None:
            Window.unbind(on_flip=on_flip)
            self.reply(ok=True, event="flip", visual_ms=(time.time() - t0) * 1000)

        t0 = time.time()
        touch = make_touch(x, y)
        press(touch, "begin")
        press(touch, "end")
        Window.bind(on_flip=on_flip)
        return {"tapped": id or text, "at": t0, "screen": self.screen()}

    def op_hold(self, id: str | None = None, text: str | None = None, nth: int = 0, s: float | None = None) -> None:
        """Press, keep pressed ``s`` seconds (default: just past the widget's ``hold_s``), release."""
        from kivy.clock import Clock

        w = self.find(id, text, nth)
        touch = make_touch(*w.to_window(*w.center))
        press(touch, "begin")

        def release(_dt) -> None:
            press(touch, "end")
            self.reply(ok=True, held=id or text, screen=self.screen())

        Clock.schedule_once(release, s if s is not None else getattr(w, "hold_s", 0.1) + 0.2)

    def op_key(self, key: str) -> dict:
        from kivy.core.window import Window

        if key not in KEYCODES:
            raise ValueError(f"unknown key {key!r}; one of {sorted(KEYCODES)}")
        code = KEYCODES[key]
        Window.dispatch("on_key_down", code, 0, None, [])
        Window.dispatch("on_key_up", code, 0)
        return {"key": key, "screen": self.screen()}

    def op_type(self, text: str) -> dict:
        from kivy.core.window import Window
        from kivy.uix.textinput import TextInput

        fields = [w for r in self.roots() for w in r.walk(restrict=True) if isinstance(w, TextInput)]
        focused = [w for w in fields if w.focus and visible(w, self.app.root)]
        if not focused:
            raise LookupError(f"no focused text field on screen {self.screen()!r}")
        for ch in text:
            Window.dispatch("on_textinput", ch)  # the path a key press takes to the focused field
        return {"length": len(focused[0].text)}

    def op_shot(self, path: str) -> dict:
        from kiosk.kivyenv import save_window

        save_window(path)
        return {"path": path}

    def op_quit(self) -> None:
        self.reply(ok=True, bye=True)
        self.app.stop()
