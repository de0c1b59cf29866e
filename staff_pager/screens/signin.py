"""Sign in by tapping your name; a PIN when ``[pager] require_pin`` and the entry has ``pin_hash``.

The PIN field sits in the top half, under "PIN for Anna": a phone's on-screen keyboard
covers the bottom half.  A wrong PIN is said on a line of its own, so the screen still says
whose PIN it asks for, and the chosen name stays highlighted.
"""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.metrics import dp, sp
from kivy.uix.button import Button
from kivy.uix.screenmanager import Screen

from broker.contract.pins import verify_pin

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


NAME_COLOR = (0.22, 0.36, 0.55, 1)
CHOSEN_COLOR = (0.95, 0.62, 0.12, 1)
"""The name whose PIN is asked: amber on the dark screen, apart from the blue of the others."""


class SignInScreen(Screen):
    chosen: str | None = None
    _buttons: dict[str, Button]

    def on_pre_enter(self, *args) -> None:
        app = App.get_running_app()
        t = app.cat.t
        self.ids.title.text = t("signin_title")
        self.ids.hint.text = t("signin_hint")
        self.ids.error.text = ""
        self.ids.pin_ok.text = t("pin_ok")
        self.chosen = None
        self._show_pin(False)
        grid = self.ids.names
        grid.clear_widgets()
        self._buttons = {}
        for staff in app.cfg.staff:
            button = Button(text=staff.name, font_size=sp(22), background_normal="", background_color=NAME_COLOR)
            button.bind(on_release=lambda _b, s=staff.id: self.choose(s))
            grid.add_widget(button)
            self._buttons[staff.id] = button

    def choose(self, staff_id: str) -> None:
        app = App.get_running_app()
        entry = app.cfg.staff_by_id[staff_id]
        if app.cfg.pager.require_pin and entry.pin_hash:
            self.chosen = staff_id
            self._highlight(staff_id)
            self.ids.hint.text = app.cat.t("pin_title", name=entry.name)
            self.ids.error.text = ""
            self.ids.pin.text = ""
            self._show_pin(True)
            self.ids.pin.focus = True
            return
        app.sign_in(staff_id)

    def check_pin(self) -> None:
        app = App.get_running_app()
        if self.chosen is None:
            return
        if verify_pin(self.ids.pin.text, app.cfg.staff_by_id[self.chosen].pin_hash or ""):
            staff, self.chosen = self.chosen, None
            self.ids.pin.text = ""
            app.sign_in(staff)
        else:
            self.ids.pin.text = ""
            self.ids.error.text = app.cat.t("pin_wrong")  # "PIN for Anna" stays: whose PIN is still asked
            # The tap on "Sign in" took the focus: give it back so the next try needs no extra tap.
            Clock.schedule_once(lambda dt: setattr(self.ids.pin, "focus", True), 0)

    def _highlight(self, staff_id: str | None) -> None:
        for sid, button in self._buttons.items():
            chosen = sid == staff_id
            button.background_color = CHOSEN_COLOR if chosen else NAME_COLOR
            button.color = (0.1, 0.1, 0.1, 1) if chosen else (1, 1, 1, 1)
            button.bold = chosen

    def _show_pin(self, show: bool) -> None:
        box = self.ids.pinbox
        box.height, box.opacity, box.disabled = (dp(56), 1, False) if show else (0, 0, True)
