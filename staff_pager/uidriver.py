"""The staff app's driver: the real Kivy app, driven from another process through ``kiosk.kivyui``.

Used by the UI tests and by the screenshot command: another process starts
``python -m staff_pager.uidriver -c staffcall.toml`` under a display
(``staff_pager.uidriver.PagerProcess`` does) and sends the verbs every app serves
(``kiosk/kivyui.py``: view, tap, hold, key, type, shot, quit).  The staff app's buttons are
tapped by their text, as a colleague finds them (``{"op": "tap", "text": "On my way"}``);
its ``view`` says::

    screen, texts (visible), disabled (buttons), flashing, flashes, chimes, error, connected, transition,
    boxes (where each visible text is: x, y from the top, width, height), fields (visible text fields),
    window (width, height)

Example::

    DISPLAY=:99 python -m staff_pager.uidriver -c staffcall.toml --lang en
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from broker.contract.config import load_config
from kiosk.kivyui import UIDriver, visible
from kiosk.uiclient import AppProcess


class PagerDriver(UIDriver):
    """The staff app's screens: what is visible on the current one."""

    def shown(self) -> list:
        from kivy.uix.button import Button
        from kivy.uix.label import Label

        screen = self.app.sm.current_screen
        return [w for w in screen.walk(restrict=True) if isinstance(w, Label | Button) and visible(w, self.app.root)]

    def texts(self) -> list[str]:
        return [w.text for w in self.shown() if w.text]

    def before_tap(self) -> None:
        """Lay out now what changed since the last frame: a list rebuilt just before a tap has its new rows
        at their default places until the next frame, and a touch aimed at them would hit another row."""
        from kivy.uix.layout import Layout

        for _ in range(2):  # a second pass for sizes that follow the children's
            for w in self.app.sm.current_screen.walk(restrict=True):
                if isinstance(w, Layout):
                    w.do_layout()

    def box(self, w) -> list[int]:
        """Where a person sees ``w``: window pixels, ``y`` from the top as the eye reads a screen."""
        from kivy.core.window import Window

        x, y = w.to_window(w.x, w.y)
        return [round(x), round(Window.height - y - w.height), round(w.width), round(w.height)]

    def op_view(self) -> dict:
        from kivy.core.window import Window
        from kivy.uix.button import Button
        from kivy.uix.textinput import TextInput

        app = self.app
        ws = self.shown()
        boxes: dict[str, list[int]] = {}
        for w in ws:
            if w.text and w.height > 0:
                boxes.setdefault(w.text, self.box(w))
        screen = app.sm.current_screen
        fields = [
            self.box(w)
            for w in screen.walk(restrict=True)
            if isinstance(w, TextInput) and w.height > 0 and visible(w, app.root)
        ]
        return {
            "screen": app.sm.current,
            "texts": [w.text for w in ws if w.text],
            "disabled": [w.text for w in ws if isinstance(w, Button) and w.disabled and w.text],
            "flashing": bool(app.page.alerting) and app.sm.current == "page",
            "flashes": app.page.flashes,
            "chimes": app.chime.played,
            "error": app.last_error,
            "connected": bool(app.link and app.link.connected),
            "transition": app.sm.transition.is_active,
            "boxes": boxes,
            "fields": fields,
            "window": [Window.width, Window.height],
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", "-c", required=True)
    parser.add_argument("--lang", default=None)
    parser.add_argument("--staff", default=None)
    args = parser.parse_args(argv)
    cfg = load_config(args.config)

    from staff_pager.app import make_app

    app = make_app(cfg, staff=args.staff, lang=args.lang, fullscreen=False)
    PagerDriver(app).serve(delay=0.5)
    app.run()
    return 0


class PagerProcess(AppProcess):
    """The real staff app (``python -m staff_pager.uidriver``) in a child process on ``display``."""

    def __init__(self, config_path: str | Path, display: str, kivy_home: str | Path, *extra: str) -> None:
        super().__init__("staff_pager.uidriver", ["-c", str(config_path), *extra], display, kivy_home)


if __name__ == "__main__":
    sys.exit(main())
