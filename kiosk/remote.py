"""Drive the real kiosk app from another process: JSON lines on stdin, answers on stdout.

Tests, the benchmark and anyone debugging a kiosk use it the same way: start
``python -m kiosk.remote --config staffcall.toml --device kiosk-1 --outbox x.db``
under a display, then send commands.  Taps go through Kivy's real input path (a
motion event at the widget's centre), keys through the window's key events, so what
is tested is what a customer's finger or keypad does.

Commands (one JSON object per line), each answered by one line starting with ``@@ ``::

    {"op": "tap", "id": "call_button"}       # a widget id of the shown screen or the open PIN pad
    {"op": "hold", "id": "staff_button"}     # press, keep pressed past the hold time ("s": or this long), release
    {"op": "key", "key": "enter"}            # enter | spacebar | tab
    {"op": "view"}                           # screen, texts, connection, call id, language, frames drawn
    {"op": "shot", "path": "x.png"}          # a PNG of the window as it is now
    {"op": "layout"}                         # window size, assumed DPI, every id'd widget's box on screen
    {"op": "show", "scene": "pin"}           # put the app into a situation without a network (shots.SCENES)
    {"op": "reset"}                          # back to Welcome, no call
    {"op": "mem", "top": 10}                 # RSS, live widgets/textures; Python heap if tracemalloc runs
    {"op": "quit"}
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any

from kiosk.kivyenv import save_window

KEYCODES = {"enter": 13, "spacebar": 32, "tab": 9}


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size in MB from /proc (Linux), the figure the issue's memory target is about."""
    from pathlib import Path

    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def see_through_lines(roots: list) -> list[str]:
    """Widgets that draw a Line wider than 1 px with alpha below 1: Kivy draws those through the stencil
    buffer, which costs the GL driver memory per line (kiosk/widgets.py).  Colours are followed in
    drawing order within each widget."""
    from kivy.graphics import Color, Line

    found = []
    for root in roots:
        for widget in root.walk():
            canvas = widget.canvas
            groups = [canvas.before] if canvas.has_before else []
            groups += [canvas] + ([canvas.after] if canvas.has_after else [])
            alpha = 1.0
            for group in groups:
                for instruction in group.children:
                    if isinstance(instruction, Color):
                        alpha = instruction.a
                    elif isinstance(instruction, Line) and instruction.width > 1 and alpha < 1:
                        found.append(type(widget).__name__)
    return found


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


class Remote:
    def __init__(self, app, out=sys.stdout) -> None:
        self.app = app
        self.out = out
        self.lock = threading.Lock()
        self.frames = 0
        """Frames drawn since start: an idle kiosk draws none (Kivy only draws when a canvas changed)."""

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

        threading.Thread(target=read, name="kiosk-remote", daemon=True).start()

    def reply(self, **values: Any) -> None:
        with self.lock:
            self.out.write("@@ " + json.dumps(values) + "\n")
            self.out.flush()

    def handle(self, line: str) -> None:
        try:
            cmd = json.loads(line)
            result = getattr(self, f"op_{cmd.pop('op')}")(**cmd)
            if result is not None:
                self.reply(ok=True, **result)
        except Exception as exc:  # a bad command must not kill the app under test
            self.reply(ok=False, error=f"{type(exc).__name__}: {exc}")

    # --- finding widgets -------------------------------------------------------------------

    def widget(self, wid: str):
        pinpad = self.app.pinpad
        if pinpad is not None and pinpad.parent is not None and wid in pinpad.ids:
            return pinpad.ids[wid]
        screen = self.app.sm.current_screen
        if wid in screen.ids:
            return screen.ids[wid]
        raise KeyError(f"no widget {wid!r} on screen {screen.name!r}; ids: {sorted(screen.ids)}")

    def texts(self) -> list[str]:
        from kivy.uix.label import Label

        roots = [self.app.sm.current_screen]
        if self.app.pinpad is not None and self.app.pinpad.parent is not None:
            roots.append(self.app.pinpad)
        return [w.text for r in roots for w in r.walk() if isinstance(w, Label) and w.text]

    # --- commands ----------------------------------------------------------------------------

    def op_tap(self, id: str) -> dict:
        from kivy.core.window import Window

        w = self.widget(id)
        x, y = w.to_window(*w.center)
        flip: dict[str, float] = {}

        def on_flip(*_a) -> None:
            flip["t"] = time.time()
            Window.unbind(on_flip=on_flip)
            self.reply(ok=True, event="flip", visual_ms=(flip["t"] - t0) * 1000)

        t0 = time.time()
        touch = make_touch(x, y)
        press(touch, "begin")
        press(touch, "end")
        Window.bind(on_flip=on_flip)
        return {"tapped": id, "at": t0, "screen": self.app.sm.current}

    def op_hold(self, id: str, s: float | None = None) -> None:
        """Press, keep pressed ``s`` seconds (default: just past the widget's ``hold_s``), release."""
        from kivy.clock import Clock

        w = self.widget(id)
        touch = make_touch(*w.to_window(*w.center))
        press(touch, "begin")

        def release(_dt) -> None:
            press(touch, "end")
            self.reply(ok=True, held=id, screen=self.app.sm.current)

        Clock.schedule_once(release, s if s is not None else getattr(w, "hold_s", 0.1) + 0.2)

    def op_key(self, key: str) -> dict:
        from kivy.core.window import Window

        code = KEYCODES[key]
        Window.dispatch("on_key_down", code, 0, None, [])
        Window.dispatch("on_key_up", code, 0)
        return {"key": key, "screen": self.app.sm.current}

    def op_view(self) -> dict:
        app = self.app
        focused = getattr(app.sm.current_screen.ids.get("call_button"), "focus", None)
        return {
            "screen": app.sm.current,
            "texts": self.texts(),
            "connected": app.connected,
            "call_id": app.progress.call_id if app.progress else None,
            "lang": app.lang,
            "pinpad": app.pinpad is not None and app.pinpad.parent is not None,
            "call_focused": focused,
            "transition": app.sm.transition.is_active,
            "frames": self.frames,
        }

    def op_shot(self, path: str) -> dict:
        save_window(path)
        return {"path": path}

    def op_layout(self) -> dict:
        """Where the shown widgets are, in window pixels, for layout tests on every screen size.

        Each id'd widget of the screen (and the open PIN pad) with its box ``[x, y, w, h]``,
        whether it is a button, and for text: whether the rendered text fits its box.
        """
        from kivy.core.window import Window
        from kivy.uix.behaviors import ButtonBehavior
        from kivy.uix.label import Label
        from kivy.uix.layout import Layout

        roots = [("screen", self.app.sm.current_screen)]
        if self.app.pinpad is not None and self.app.pinpad.parent is not None:
            roots.append(("pinpad", self.app.pinpad))
        widgets = {}
        for where, root in roots:
            for wid, w in root.ids.items():
                if w.get_root_window() is None:
                    continue
                x, y = w.to_window(w.x, w.y)
                info: dict[str, Any] = {
                    "where": where,
                    "box": [x, y, w.width, w.height],
                    "button": isinstance(w, ButtonBehavior),
                    "container": isinstance(w, Layout) and not isinstance(w, ButtonBehavior),
                }
                if isinstance(w, Label) and w.text:
                    tw, th = w.texture_size
                    info["text"] = w.text
                    info["text_fits"] = tw <= w.width + 1 and th <= w.height + 1
                widgets[wid] = info
        app = self.app
        return {
            "screen": app.sm.current,
            "window": list(Window.size),
            "dpi": app.dpi,
            "dpi_source": app.dpi_source,
            "touch_px": app.touch,
            "widgets": widgets,
        }

    def op_show(self, scene: str) -> dict:
        from kiosk.shots import scenes

        setup = dict(scenes(self.app))[scene]
        if self.app.pinpad is not None:
            self.app.pinpad.dismiss(animation=False)
        self.app.connected = True  # as the network would say; the offline scene says otherwise
        setup()
        return {"scene": scene, "screen": self.app.sm.current}

    def op_reset(self) -> dict:
        self.app.finish()
        return {"screen": "welcome"}

    def op_mem(self, top: int = 0) -> dict:
        """Where the memory is: for bench/kiosk.py and leak hunting (start with PYTHONTRACEMALLOC=1 for the heap)."""
        import gc
        import tracemalloc

        from kivy.graphics.fbo import Fbo
        from kivy.graphics.texture import Texture
        from kivy.uix.widget import Widget

        gc.collect()
        objs = gc.get_objects()
        result: dict[str, Any] = {
            "rss_mb": rss_mb(),
            "widgets": sum(isinstance(o, Widget) for o in objs),
            "textures": sum(isinstance(o, Texture) for o in objs),
            "fbos": sum(isinstance(o, Fbo) for o in objs),
            "screens": self.app.sm.screen_names,
            "releases": self.app.memory_releases,
            "see_through_lines": see_through_lines(self.app.sm.screens + [p for p in [self.app.pinpad] if p]),
        }
        if tracemalloc.is_tracing():
            result["py_heap_mb"] = tracemalloc.get_traced_memory()[0] / 2**20
            stats = tracemalloc.take_snapshot().statistics("filename")[:top]
            result["top"] = [(str(s.traceback[0].filename), round(s.size / 2**20, 2)) for s in stats]
        return result

    def op_quit(self) -> None:
        self.reply(ok=True, bye=True)
        self.app.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.remote", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--device", required=True)
    parser.add_argument("--outbox", required=True)
    parser.add_argument("--size", default="800x480")
    parser.add_argument("--offline", action="store_true", help="no broker connection (layout tests, screenshots)")
    args = parser.parse_args(argv)

    from kiosk.kivyenv import configure_kivy

    configure_kivy(size=args.size, fullscreen=False)
    from broker.contract.config import load_config
    from kiosk.app import KioskApp

    app = KioskApp(load_config(args.config), args.device, args.outbox, online=not args.offline)
    remote = Remote(app)
    from kivy.clock import Clock

    Clock.schedule_once(lambda _dt: (remote.listen(), remote.reply(ok=True, ready=True)), 0)
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
