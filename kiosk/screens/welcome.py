"""Welcome: the store's name, one big "Call staff" button, optional reasons, the language switch."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.lang import Builder
from kivy.uix.screenmanager import Screen

from kiosk.widgets import KioskButton

REASON_FILL = [0.85, 0.92, 1, 1]


class WelcomeScreen(Screen):
    def on_kv_post(self, base_widget) -> None:
        app = App.get_running_app()
        for key in app.cfg.kiosk.reasons:
            button = KioskButton(fill=REASON_FILL, size_hint_y=None, font_size=app.fs)
            app.bind(fs=button.setter("font_size"))
            button.reason = key
            app.bind(lang=lambda _a, _l, b=button, k=key: setattr(b, "text", app.tr(f"reason.{k}")))
            button.text = app.tr(f"reason.{key}")
            button.bind(on_release=lambda b: app.press_call(reason=b.reason))
            # at least a touch target high, taller when a long reason wraps onto more lines
            button.bind(min_height=self._fit, texture_size=self._fit)
            self.ids.reasons.add_widget(button)
            self.ids[f"reason_{key}"] = button
        self._fit()

    def _fit(self, *_args) -> None:
        """All reason buttons as high as the tallest needs, so a row stays even."""
        buttons = self.ids.reasons.children
        if buttons:
            height = max(max(b.min_height, b.texture_size[1] + b.font_size) for b in buttons)
            for b in buttons:
                b.height = height

    def on_enter(self) -> None:
        # A physical keypad works at once: the Call button has the keyboard focus.
        self.ids.call_button.focus = True

    def on_pre_leave(self) -> None:
        self.ids.call_button.focus = False


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
