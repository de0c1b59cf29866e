"""The staff app (Kivy): sign in, presence, pages that flash until answered, open calls, my shift.

Screens live in ``staff_pager/screens/`` (one module + ``.kv`` each).  Network callbacks
arrive on paho's thread and are handed to Kivy's main thread with
``Clock.schedule_once``; every screen reads the pager core under ``link.lock``.

Example::

    staffcall pager --config staffcall.toml            # full screen, choose your name
    staffcall pager --config staffcall.toml --windowed --staff anna
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

from broker.contract.config import Config

log = logging.getLogger(__name__)


def _kivy_env(fullscreen: bool, size: tuple[int, int]) -> None:
    """Kivy reads these at import: no argv parsing (ours is argparse), a phone-sized window."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    from kivy.config import Config as KivyConfig

    KivyConfig.set("graphics", "width", str(size[0]))
    KivyConfig.set("graphics", "height", str(size[1]))
    KivyConfig.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    KivyConfig.set("input", "mouse", "mouse,disable_multitouch")
    KivyConfig.set("kivy", "exit_on_escape", "0")
    KivyConfig.set("graphics", "multisamples", "0")  # ~12 MB less GL memory for flat shapes (kiosk/cli.py)


def make_app(cfg: Config, staff: str | None = None, lang: str | None = None, fullscreen: bool = False):
    _kivy_env(fullscreen, (480, 800))
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.uix.screenmanager import NoTransition, ScreenManager

    from staff_pager.link import PagerLink
    from staff_pager.screens.home import HomeScreen
    from staff_pager.screens.page import PageScreen
    from staff_pager.screens.signin import SignInScreen
    from staff_pager.sound import Chime
    from staff_pager.texts import catalog

    class StaffApp(App):
        title = "staffcall"

        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self.cfg = cfg
            self.cat = catalog(lang or cfg.store.language)
            self.link: PagerLink | None = None
            self.initial_staff = staff
            self.chime = Chime(tempfile.gettempdir())
            self.last_error = ""

        def build(self):
            from kivy.core.window import Window

            self.title = self.cat.t("app_title")
            # On a phone the focused field (the PIN) is kept above the on-screen keyboard.
            Window.softinput_mode = "below_target"
            self.sm = ScreenManager(transition=NoTransition())
            self.signin = SignInScreen(name="signin")
            self.home = HomeScreen(name="home")
            self.page = PageScreen(name="page")
            for screen in (self.signin, self.home, self.page):
                self.sm.add_widget(screen)
            pin_needed = cfg.pager.require_pin and staff and cfg.staff_by_id.get(staff, None)
            if staff and not (pin_needed and cfg.staff_by_id[staff].pin_hash):
                Clock.schedule_once(lambda dt: self.sign_in(staff), 0)
            return self.sm

        # --- session ------------------------------------------------------------------

        def sign_in(self, staff_id: str) -> None:
            from broker.callpoint.outbox import OutboxLocked

            if self.link is not None:
                self.link.stop()
                self.link = None
            try:
                self.link = PagerLink(
                    self.cfg, staff_id, on_change=self._from_network, state_dir=self.cfg.pager.state_dir
                )
            except OutboxLocked as exc:
                self.last_error = str(exc)
                log.error("%s", exc)
                self.signin.ids.error.text = str(exc)
                return
            self.link.start()
            self.sm.current = "home"
            self.home.refresh()

        def sign_out(self) -> None:
            if self.link is not None:
                self.link.stop()
            self.link = None
            self.sm.current = "signin"

        def set_presence(self, status: str) -> None:
            if self.link is not None:
                self.link.set_presence(status)

        def act(self, action: str, call_id: str, outcome: str | None = None) -> None:
            if self.link is None:
                return
            try:
                self.link.act(action, call_id, outcome=outcome)
            except ValueError as exc:
                self.last_error = str(exc)
                log.info("%s", exc)
            if action in ("decline", "dismiss") and self.sm.current == "page":
                self.go_home()  # passed on or seen: nothing left to do on this page
            self.refresh()

        def open_page(self, call_id: str) -> None:
            self.page.show(call_id)
            self.sm.current = "page"

        def go_home(self) -> None:
            self.sm.current = "home"
            self.home.refresh()

        def on_stop(self) -> None:
            if self.link is not None:
                self.link.stop()

        # --- network -> screen ----------------------------------------------------------

        def _from_network(self, what: str, detail: Any) -> None:
            Clock.schedule_once(lambda dt: self._on_network(what, detail), 0)

        def _on_network(self, what: str, detail: Any) -> None:
            if self.link is None:
                return
            if what == "page" and detail:
                self.chime.play()
            self.refresh()

        def refresh(self) -> None:
            """Show the page that needs an answer; leave a page whose call is gone."""
            link = self.link
            if link is None:
                return
            with link.lock:
                now = link.clock()
                alert = link.core.alerting(now)
                shown = self.page.call_id
                still_there = shown is not None and (
                    link.core.state_of(shown) is not None and shown in link.core.calls or shown in link.core.pages
                )
            if alert is not None:
                if self.sm.current != "page" or self.page.call_id != alert.id:
                    self.open_page(alert.id)
                else:
                    self.page.refresh()
            elif self.sm.current == "page" and not still_there:
                self.go_home()
            elif self.sm.current == "page":
                self.page.refresh()
            elif self.sm.current == "home":
                self.home.refresh()

    return StaffApp()


def run_app(cfg: Config, staff: str | None = None, lang: str | None = None, fullscreen: bool = True) -> int:
    if staff is not None and staff not in cfg.staff_by_id:
        raise SystemExit(f"staffcall pager: staff {staff!r} is not in [[staff]] of the config")
    make_app(cfg, staff=staff, lang=lang, fullscreen=fullscreen).run()
    return 0
