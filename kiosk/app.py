"""The kiosk app: wires the screens to a CallPoint (the call's outbox and MQTT link).

The flow is Welcome -> Waiting -> Greeted -> Feedback -> Thank you -> Welcome.  What
a screen shows follows the hub's ``state/{id}``; CallPoint callbacks arrive on paho's
thread and are handed to Kivy's main thread with ``Clock.schedule_once``.

Example::

    KioskApp(load_config("staffcall.toml"), "kiosk-1", "kiosk-1.outbox.db").run()
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from kivy.app import App
from kivy.base import ExceptionHandler, ExceptionManager
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, Screen

from broker.callpoint.callpoint import CallPoint
from broker.callpoint.cues import Player, cues_for
from broker.callpoint.progress import CallProgress
from broker.contract.config import Config
from broker.contract.i18n import Catalog
from broker.contract.protocol import StateMsg
from kiosk import memory

log = logging.getLogger(__name__)

LOCALES = Path(__file__).with_name("locales")
EAGER_SCREENS = ("welcome", "waiting")
"""Built at start: the idle screen, and the one a tap must show at once.  The rest are built the first time
they are needed and then kept (at most seven screens): dropping and rebuilding them per call was measured
(bench/kiosk.py) to cost more, ~120 kB of RSS per call from allocator churn, than keeping them (~0)."""
IDLE_RELEASE_S = 5.0
"""Seconds on Welcome before memory freed by start-up or the last call goes back to the system
(kiosk/memory.py): after the customer has left, and too short for the next one to notice."""
MESSAGES = {
    "thanks": ("thanks", "thanks_detail"),
    "cancelled": ("cancelled", "cancelled_detail"),
    "unattended": ("unattended", "unattended_detail"),
}


class LogAndCarryOn(ExceptionHandler):
    """A store's kiosk keeps running: an error in one callback is logged, not fatal."""

    def handle_exception(self, inst):
        log.exception("kiosk error (carrying on)", exc_info=inst)
        return ExceptionManager.PASS


class KioskApp(App):
    lang = StringProperty("en")
    connected = BooleanProperty(False)
    fs = NumericProperty(20.0)
    """The base font size in pixels, from the window's short side: one layout from 800x480 to 1920x1080."""
    landscape = BooleanProperty(True)
    touch = NumericProperty(78.0)
    """The smallest touch target in pixels: 15 mm at the screen's (assumed) DPI, see kiosk/layout.py."""
    store_name = StringProperty("")

    def __init__(
        self, cfg: Config, device: str, outbox_path: str, *, online: bool = True, player: Player | None = None
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.device = device
        self.title = f"staffcall kiosk {device}"
        self.store_name = cfg.store.name
        self.catalog = Catalog(LOCALES, cfg.store.language, cfg.kiosk.locales_dir)
        self.languages = cfg.kiosk.languages or self.catalog.languages()
        self.lang = cfg.store.language
        self.progress: CallProgress | None = None
        self.pinpad = None
        self.online = online
        self.memory_releases = 0
        self._idle_release = Clock.create_trigger(self._release_memory, IDLE_RELEASE_S)
        self.cues = cues_for(cfg, device, Path(outbox_path).resolve().parent / f"{device}.cues", player)
        self.point = CallPoint(
            cfg,
            device,
            outbox_path,
            on_state=lambda call_id, state: Clock.schedule_once(lambda _dt: self.apply_state(call_id, state)),
            on_connection=lambda up: Clock.schedule_once(lambda _dt: setattr(self, "connected", up)),
        )

    # --- texts ---------------------------------------------------------------------------

    def tr(self, key: str, _lang: str | None = None, **values: object) -> str:
        """Translate; kv passes ``app.lang`` as ``_lang`` so the text follows a language switch."""
        return self.catalog.t(key, **values)

    def on_lang(self, _app, lang: str) -> None:
        self.catalog.switch(lang)

    def next_language_name(self, _lang: str | None = None) -> str:
        return Catalog(LOCALES, self._next_language(), self.cfg.kiosk.locales_dir).t("language_name")

    def _next_language(self) -> str:
        i = self.languages.index(self.lang) if self.lang in self.languages else -1
        return self.languages[(i + 1) % len(self.languages)]

    def toggle_language(self) -> None:
        self.lang = self._next_language()

    # --- building ------------------------------------------------------------------------

    def build(self):
        from kiosk import widgets  # noqa: F401  (registers the widget rules)

        ExceptionManager.add_handler(LogAndCarryOn())
        Window.bind(size=self._on_size)
        self._on_size(Window, Window.size)
        Builder.load_file(str(Path(__file__).with_suffix(".kv")))
        root = Factory.KioskRoot()
        self.sm = root.ids.sm
        # No fade: Kivy's shader transitions draw both screens into two window-sized Fbos per switch and the
        # GL driver keeps that memory (kivy/kivy#7478: +1.8 MB per switch here, three switches per call), and
        # a cut shows the customer's tap at the next frame.
        self.sm.transition = NoTransition()
        for name in EAGER_SCREENS:
            self.sm.add_widget(self._make_screen(name))
        return root

    def _make_screen(self, name: str) -> Screen:
        from kiosk.screens import FeedbackScreen, GreetedScreen, MessageScreen, WaitingScreen, WelcomeScreen

        if name in MESSAGES:
            title, detail = MESSAGES[name]
            return MessageScreen(name=name, title_key=title, detail_key=detail)
        return {"welcome": WelcomeScreen, "waiting": WaitingScreen, "greeted": GreetedScreen}.get(
            name, FeedbackScreen
        )()

    def _on_size(self, _window, size) -> None:
        from kiosk.layout import assumed_dpi, touch_px

        w, h = size
        self.fs = max(12.0, min(w, h) / 24.0)
        self.landscape = w >= h
        self.dpi, self.dpi_source = assumed_dpi((int(w), int(h)), self.cfg.kiosk.dpi)
        self.touch = touch_px(self.dpi)

    def on_start(self) -> None:
        resumed = self.point.open_call()
        if resumed:
            call_id, state = resumed
            log.info("resuming call %s after a restart (last status %s)", call_id, state.status if state else None)
            self.progress = CallProgress(call_id, pressed_mono=time.monotonic())
            if state is not None:
                self.progress.update(state, time.monotonic())
            self.show(self.progress.screen)
        if self.online:
            self.point.start()
        if self.sm.current == "welcome":
            self._idle_release()

    def _release_memory(self, _dt: float) -> None:
        if self.sm.current == "welcome":
            memory.release()
            self.memory_releases += 1

    def on_stop(self) -> None:
        self.point.stop()

    # --- the flow ------------------------------------------------------------------------

    def show(self, screen: str) -> None:
        if self.sm.current != screen:
            if not self.sm.has_screen(screen):
                self.sm.add_widget(self._make_screen(screen))
            self.sm.current = screen
            if screen == "welcome":
                self._idle_release()
            else:
                self._idle_release.cancel()
        elif screen == "waiting":
            self.sm.current_screen.refresh()

    def press_call(self, reason: str | None = None) -> None:
        if self.progress is not None:
            return  # one call at a time; the Waiting screen is already up
        pressed = time.monotonic()
        call_id = self.point.call(reason=reason, lang=self.lang)
        self.progress = CallProgress(call_id, pressed_mono=pressed)
        self.show("waiting")
        self.cues.call_sent()

    def apply_state(self, call_id: str, state: StateMsg) -> None:
        """A state for one of this device's calls (main thread)."""
        if self.progress is None or call_id != self.progress.call_id:
            return
        self.progress.update(state, time.monotonic())
        self.show(self.progress.screen)
        self.cues.call_state(call_id, state.status)

    def on_connected(self, _app, _up: bool) -> None:
        if self.sm.current == "waiting":
            self.sm.current_screen.refresh()

    def cancel_call(self) -> None:
        if self.progress is not None:
            self.point.cancel(self.progress.call_id)
        self.progress = None
        self.show("cancelled")

    def ask_staff_pin(self) -> None:
        if self.pinpad is None:  # built on first use: most calls never need it
            from kiosk.screens import PinPad

            self.pinpad = PinPad()
        self.pinpad.clear()
        self.pinpad.message = ""
        self.pinpad.open()

    def staff_greet(self) -> None:
        """Staff confirmed "I'm here" on the kiosk: the greeting happened at the customer's spot."""
        if self.progress is None:
            return
        self.point.greet(self.progress.call_id)
        self.show("greeted")

    def send_feedback(self, score: int) -> None:
        if self.progress is not None:
            self.point.feedback(self.progress.call_id, score)
        self.finish(thank=True)

    def finish(self, thank: bool = False) -> None:
        """The customer is done: say thanks (or not) and get ready for the next one."""
        self.progress = None
        if self.pinpad is not None:
            self.pinpad.dismiss()
        if thank:
            self.show("thanks")
            return
        self.lang = self.cfg.store.language
        self.show("welcome")
