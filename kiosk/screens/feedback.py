"""Feedback: four faces, one tap, skippable; back to Welcome by itself if nobody taps."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.uix.screenmanager import Screen


class FeedbackScreen(Screen):
    _tick = None
    _timeout = None

    def on_enter(self) -> None:
        app = App.get_running_app()
        self._timeout = Clock.schedule_once(lambda _dt: app.finish(), app.cfg.kiosk.feedback_timeout_s)

    def on_pre_leave(self) -> None:
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
