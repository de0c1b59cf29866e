"""The kiosk's driver: the real kiosk app, driven from another process through ``kiosk.kivyui``.

Tests, the benchmark and anyone debugging a kiosk use it the same way: start
``python -m kiosk.remote --config staffcall.toml --device kiosk-1 --outbox x.db``
under a display (``kiosk.uiclient.KioskProcess`` does), then send the verbs every app
serves (``kiosk/kivyui.py``: view, tap, hold, key, type, shot, quit) and the kiosk's own::

    {"op": "view"}                           # screen, texts, connection, call id, language, frames drawn
    {"op": "layout"}                         # window size, assumed DPI, every id'd widget's box on screen
    {"op": "show", "scene": "pin"}           # put the app into a situation without a network (shots.SCENES)
    {"op": "reset"}                          # back to Welcome, no call
    {"op": "sounds"}                         # cues played so far (started with --record-sounds)
    {"op": "mem", "top": 10}                 # RSS, live widgets/textures; Python heap if tracemalloc runs

A tap names a widget id of the shown screen or the open PIN pad (``{"op": "tap", "id": "call_button"}``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kiosk.kivyui import UIDriver


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


def plain(ins) -> bool:
    """A shape filled with its colour alone: no texture, or Kivy's 1x1 white default; not text, not an image."""
    from kivy.graphics import RoundedRectangle

    if isinstance(ins, RoundedRectangle):  # its default texture is a generated one, never text
        return not ins.source
    return ins.texture is None or tuple(ins.texture.size) == (1, 1)


def backdrop(widget, base: tuple[float, float, float]) -> tuple[float, float, float]:
    """The colour drawn behind ``widget``'s centre: ``base`` with every untextured rectangle its ancestors
    (and its own ``canvas.before``) paint over that point composited in drawing order, alpha included."""
    from kivy.core.window import WindowBase
    from kivy.graphics import Color, Rectangle, RoundedRectangle

    from kiosk.contrast import over

    chain = []
    w = widget
    while w is not None and not isinstance(w, WindowBase) and w not in chain:  # the Window is its own parent
        chain.append(w)
        w = w.parent
    cx, cy = widget.to_window(*widget.center)
    colour = base
    for a in reversed(chain):
        canvas = a.canvas
        groups = [canvas.before] if canvas.has_before else []
        if a is not widget:
            groups.append(canvas)
        rgba = (1.0, 1.0, 1.0, 1.0)
        for group in groups:
            for ins in group.children:
                if isinstance(ins, Color):
                    rgba = tuple(ins.rgba)
                elif isinstance(ins, Rectangle | RoundedRectangle) and plain(ins):
                    x, y = a.to_window(*ins.pos)
                    w_, h_ = ins.size
                    if x <= cx <= x + w_ and y <= cy <= y + h_:
                        colour = over(rgba, colour)
    return colour


def text_contrast(roots: list) -> list[dict]:
    """Every visible text of ``roots``: its colour over what is drawn behind it, and the contrast it needs."""
    from kivy.core.window import Window
    from kivy.uix.label import Label

    from kiosk.contrast import over, ratio, required
    from kiosk.kivyui import visible
    from kiosk.widgets import BACKGROUND

    found = []
    for root in roots:
        for w in root.walk(restrict=True):
            if not isinstance(w, Label) or not w.text.strip() or not visible(w, Window) or w.get_root_window() is None:
                continue
            bg = backdrop(w, BACKGROUND)
            fg = over(w.color, bg)
            found.append(
                {
                    "text": w.text,
                    "font_px": float(w.font_size),
                    "bold": bool(w.bold),
                    "ratio": round(ratio(fg, bg), 2),
                    "required": required(float(w.font_size), bool(w.bold)),
                }
            )
    return found


class KioskDriver(UIDriver):
    """The kiosk's screens and its PIN pad (a popup over them)."""

    def roots(self) -> list:
        pinpad = self.app.pinpad
        shown = pinpad is not None and pinpad.parent is not None
        return [self.app.sm.current_screen] + ([pinpad] if shown else [])

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
            "contrast": text_contrast([roots[-1][1]]),  # the open PIN pad covers the screen
        }

    def op_show(self, scene: str) -> dict:
        from kiosk.shots import scenes

        setup = dict(scenes(self.app))[scene]
        if self.app.pinpad is not None:
            self.app.pinpad.dismiss(animation=False)
        self.app.connected = True  # as the network would say; the offline scene says otherwise
        setup()
        return {"scene": scene, "screen": self.app.sm.current}

    def op_sounds(self) -> dict:
        """The cues played so far (the kiosk started with ``--record-sounds``)."""
        return {"played": list(getattr(self.app.cues.player, "played", []))}

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.remote", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--device", required=True)
    parser.add_argument("--outbox", required=True)
    parser.add_argument("--size", default="800x480")
    parser.add_argument("--record-sounds", action="store_true", help="remember sound cues (op sounds), play none")
    parser.add_argument("--offline", action="store_true", help="no broker connection (layout tests, screenshots)")
    args = parser.parse_args(argv)

    from kiosk.kivyenv import configure_kivy

    configure_kivy(size=args.size, fullscreen=False)
    from broker.callpoint.cues import RecordingPlayer
    from broker.contract.config import load_config
    from kiosk.app import KioskApp

    player = RecordingPlayer() if args.record_sounds else None
    app = KioskApp(load_config(args.config), args.device, args.outbox, online=not args.offline, player=player)
    KioskDriver(app).serve()
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
