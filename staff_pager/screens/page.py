"""One call, full screen: flashes (and chimes) until answered, then shows what is left to do."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.metrics import dp, sp
from kivy.properties import ListProperty
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen

from broker.callpoint.pager import mmss
from staff_pager.texts import headline, reason_text, status_line

Builder.load_file(str(Path(__file__).with_suffix(".kv")))

FLASH = ((0.85, 0.12, 0.1, 1), (0.98, 0.55, 0.05, 1))
CALM = (0.13, 0.2, 0.3, 1)
CHIME_EVERY_S = 5.0
ACTIONS = ("ack", "greet", "resolve", "decline")


class PageScreen(Screen):
    bg = ListProperty(list(CALM))
    call_id: str | None = None
    alerting = False
    flashes = 0
    _flasher = None
    _ticker = None
    _since_chime = 0.0
    picking = False
    """Resolved was tapped and the store's outcomes are on screen."""

    def on_enter(self, *args) -> None:
        self._ticker = Clock.schedule_interval(lambda dt: self.tick(), 1.0)

    def on_pre_leave(self, *args) -> None:
        for ev in (self._ticker, self._flasher):
            if ev is not None:
                ev.cancel()
        self._ticker = self._flasher = None
        self.alerting = False
        self._show_outcomes(False)

    def show(self, call_id: str) -> None:
        if call_id != self.call_id:
            self._show_outcomes(False)
        self.call_id = call_id
        self.refresh()

    def refresh(self) -> None:
        app = App.get_running_app()
        if app.link is None or self.call_id is None:
            return
        t = app.cat.t
        link = app.link
        with link.lock:
            now = link.clock()
            alert = link.core.alerting(now)
            page = link.core.pages.get(self.call_id, (None, 0))[0]
            state = link.core.state_of(self.call_id)
            allowed = link.core.allowed(self.call_id)
            pending = link.core.outbox.pending(self.call_id)
            waited = link.core.waited(self.call_id, now)
            row = next((r for r in link.core.open_calls(now) if r.id == self.call_id), None)
        alerting = alert is not None and alert.id == self.call_id
        src = page or state
        if src is None:
            return
        kind = (alert.kind if alerting else page.kind if page else "call") or "call"
        self.ids.headline.text = headline(app.cat, kind)
        self.ids.where.text = src.label or src.device
        self.ids.zone.text = t("zone", zone=src.zone)
        self.ids.reason.text = reason_text(app.cat, src.reason)
        text = getattr(page, "customer_text", None)
        self.ids.customer.text = t("customer_says", text=text) if text else ""
        self.ids.wait.text = mmss(waited)
        self.ids.tier.text = t("tier", tier=src.tier)
        self.ids.status.text = (status_line(app.cat, row) if row else (state.status if state else "")) + (
            f"  ({t('sending')})" if pending else ""
        )
        if self.picking and "resolve" not in allowed:
            self._show_outcomes(False)  # closed or resolved meanwhile: nothing left to pick for
        unattended = "dismiss" in allowed
        for action in ACTIONS:
            button = self.ids[action]
            button.text = t(action)
            button.disabled = action not in allowed
        if unattended or (alerting and "ack" not in allowed and kind in ("repage", "repeat")):
            self.ids.ack.text = t("dismiss")
            self.ids.ack.disabled = False
        self.ids.back.text = t("back")
        # Until answered there is no way around the page: that is the point of a pager.
        self.ids.back.disabled = alerting
        self.ids.back.opacity = 0 if alerting else 1
        self._set_alerting(alerting)

    def press(self, action: str) -> None:
        app = App.get_running_app()
        if self.call_id is None:
            return
        if action == "ack" and self.ids.ack.text == app.cat.t("dismiss"):
            action = "ack" if "ack" in app.link.core.allowed(self.call_id) else "dismiss"
        if action == "resolve" and app.cfg.pager.outcomes:
            self._show_outcomes(True)
            return
        app.act(action, self.call_id)

    def resolve_with(self, outcome: str | None) -> None:
        """An outcome (or none) was picked: now the resolve goes to the hub."""
        self._show_outcomes(False)
        if self.call_id is not None:
            App.get_running_app().act("resolve", self.call_id, outcome=outcome)

    def _show_outcomes(self, show: bool) -> None:
        app = App.get_running_app()
        box, grid = self.ids.outcomes, self.ids.actions
        box.clear_widgets()
        self.picking = show
        if show:
            title = Label(text=app.cat.t("outcome_title"), font_size=sp(20), size_hint_y=None, height=dp(36))
            box.add_widget(title)
            choices = [(o, o) for o in app.cfg.pager.outcomes] + [(app.cat.t("no_outcome"), None)]
            for text, outcome in choices:
                button = Button(
                    text=text, font_size=sp(20), size_hint_y=None, height=dp(48), background_normal="",
                    background_color=(0.45, 0.45, 0.5, 1) if outcome is None else (0.25, 0.5, 0.85, 1),
                )  # fmt: skip
                button.bind(on_release=lambda _b, o=outcome: self.resolve_with(o))
                box.add_widget(button)
            box.height = dp(36) + len(choices) * (dp(48) + dp(6))
        else:
            box.height = 0
        box.opacity, box.disabled = (1, False) if show else (0, True)
        grid.height, grid.opacity, grid.disabled = (0, 0, True) if show else (dp(150), 1, False)

    def _set_alerting(self, alerting: bool) -> None:
        if alerting and not self.alerting:
            self._flasher = Clock.schedule_interval(lambda dt: self._flash(), 0.4)
            self._since_chime = 0.0
        elif not alerting and self._flasher is not None:
            self._flasher.cancel()
            self._flasher = None
        self.alerting = alerting
        if not alerting:
            self.bg = list(CALM)

    def _flash(self) -> None:
        self.flashes += 1
        self.bg = list(FLASH[self.flashes % 2])
        self._since_chime += 0.4
        if self._since_chime >= CHIME_EVERY_S:
            self._since_chime = 0.0
            App.get_running_app().chime.play()

    def tick(self) -> None:
        app = App.get_running_app()
        if app.link is None or self.call_id is None:
            return
        with app.link.lock:
            waited = app.link.core.waited(self.call_id, app.link.clock())
        self.ids.wait.text = mmss(waited)
