"""Greeted: the colleague has arrived; stays until the call is resolved (or a long timeout)."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.uix.screenmanager import Screen


class GreetedScreen(Screen):
    _tick = None
    _timeout = None

    def on_pre_enter(self) -> None:
        app = App.get_running_app()
        state = app.progress.state if app.progress else None
        name = state.staff_name if state else None
        self.ids.title.text = app.tr("greeted", name=name) if name else app.tr("greeted_anon")

    def on_enter(self) -> None:
        app = App.get_running_app()
        self._timeout = Clock.schedule_once(lambda _dt: app.finish(), app.cfg.kiosk.greeted_timeout_s)

    def on_pre_leave(self) -> None:
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
