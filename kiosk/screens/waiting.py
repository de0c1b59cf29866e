"""Waiting: "Your call is sent" at once, then who is coming and roughly when, live from the hub.

The texts come from ``broker.callpoint.progress.describe`` (pure, tested apart); this screen only
shows them.  The one-second tick and the breathing animation run only while the
screen is shown, so an idle kiosk uses no CPU.
"""

from __future__ import annotations

import time
from pathlib import Path

from kivy.animation import Animation
from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.uix.screenmanager import Screen

from broker.callpoint.progress import describe


class WaitingScreen(Screen):
    _tick = None
    _timeout = None

    def on_pre_enter(self) -> None:
        self.refresh()

    def on_enter(self) -> None:
        self._tick = Clock.schedule_interval(lambda _dt: self.refresh(), 1.0)
        pulse = Animation(phase=1.0, duration=1.4, t="in_out_sine") + Animation(
            phase=0.0, duration=1.4, t="in_out_sine"
        )
        pulse.repeat = True
        pulse.start(self.ids.pulse)

    def on_pre_leave(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        Animation.cancel_all(self.ids.pulse)

    def refresh(self) -> None:
        app = App.get_running_app()
        if app.progress is None:
            return
        view = describe(app.progress, time.monotonic(), app.connected, app.tr, app.cfg.store.nobody_on_shift_text)
        ids = self.ids
        ids.headline.text = view.headline
        ids.who.text = view.who
        ids.eta.text = view.eta
        ids.note.text = view.note
        ids.note.color = (1, 0.78, 0.3, 1) if view.overdue or not app.connected else (1, 1, 1, 0.85)
        ids.elapsed.text = view.elapsed


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
