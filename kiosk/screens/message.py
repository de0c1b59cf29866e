"""A closing message (thank you, cancelled, nobody could come), then back to Welcome by itself."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen


class MessageScreen(Screen):
    _tick = None
    _timeout = None
    title_key = StringProperty("thanks")
    detail_key = StringProperty("thanks_detail")

    def on_enter(self) -> None:
        app = App.get_running_app()
        self._timeout = Clock.schedule_once(lambda _dt: app.finish(thank=False), app.cfg.kiosk.thanks_s)

    def on_pre_leave(self) -> None:
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
