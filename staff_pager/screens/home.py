"""Home: presence buttons, the store's open calls with live waits, and "My shift".

Right after sign-in no presence is chosen and the hub pages nobody who is not on shift:
the screen says so and offers "On shift" as the big button, until one is chosen."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.metrics import dp, sp
from kivy.properties import ListProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen

from broker.callpoint.pager import CallRow, mmss
from staff_pager.texts import reason_text, shift_lines, status_line

Builder.load_file(str(Path(__file__).with_suffix(".kv")))

ROW_COLORS = {"waiting": (0.55, 0.22, 0.2, 1), "acknowledged": (0.55, 0.45, 0.15, 1), "greeted": (0.2, 0.42, 0.28, 1)}


class CallRowView(BoxLayout):
    bg = ListProperty([0.2, 0.22, 0.26, 1])


class HomeScreen(Screen):
    tab = "calls"
    _ticker = None

    def on_enter(self, *args) -> None:
        # Waits tick only while this screen shows: an idle pager uses no CPU.
        self._ticker = Clock.schedule_interval(lambda dt: self.tick(), 1.0)
        self.refresh()

    def on_pre_leave(self, *args) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def show_tab(self, tab: str) -> None:
        self.tab = tab
        self.ids.tab_calls.state = "down" if tab == "calls" else "normal"
        self.ids.tab_shift.state = "down" if tab == "shift" else "normal"
        self.refresh()

    def refresh(self) -> None:
        app = App.get_running_app()
        if app.link is None:
            return
        t = app.cat.t
        link = app.link
        self.ids.who.text = link.name
        self.ids.link.text = t("connected") if link.connected else t("disconnected")
        self.ids.link.color = (0.6, 0.9, 0.6, 1) if link.connected else (1, 0.6, 0.4, 1)
        self.ids.sign_out.text = t("sign_out")
        self.ids.tab_calls.text = t("tab_calls")
        self.ids.tab_shift.text = t("tab_shift")
        with link.lock:
            presence = link.core.presence
            rows = link.core.open_calls(link.clock())
            figures = dict(link.core.shift) if link.core.shift else None
        for key in ("on_shift", "break", "off"):
            self.ids[key].text = t(key)
            self.ids[key].state = "down" if presence == key else "normal"
        self._first_minute(presence is None)
        content = self.ids.content
        content.clear_widgets()
        self._waits: dict[str, Label] = {}
        if self.tab == "shift":
            for line in shift_lines(app.cat, figures, app.cfg.store.target_greet_s):
                content.add_widget(_line(line))
            return
        if not rows:
            content.add_widget(_line(t("no_calls")))
        for row in rows:
            content.add_widget(self._row(row))

    def _first_minute(self, unchosen: bool) -> None:
        """No presence yet: say that nobody pages this colleague, and make "On shift" the obvious tap."""
        t = App.get_running_app().cat.t
        notice, row, on_shift = self.ids.notice, self.ids.presence_row, self.ids.on_shift
        notice.text = t("presence_none", on_shift=t("on_shift")) if unchosen else ""
        notice.height = dp(56) if unchosen else 0
        row.height = dp(96) if unchosen else dp(60)
        on_shift.size_hint_x = 2.4 if unchosen else 1
        on_shift.font_size = sp(26) if unchosen else sp(18)
        on_shift.bold = unchosen
        on_shift.background_color = (0.35, 0.85, 0.45, 1) if unchosen else (1, 1, 1, 1)

    def _row(self, row: CallRow) -> CallRowView:
        app = App.get_running_app()
        t = app.cat.t
        view = CallRowView(bg=ROW_COLORS.get(row.status, (0.2, 0.22, 0.26, 1)))
        view.ids.where.text = f"{row.where} · {row.zone}"
        status = status_line(app.cat, row)
        if row.pending:
            status += f"  ({t('sending')})"
        view.ids.status.text = f"{reason_text(app.cat, row.reason)} — {status}"
        view.ids.wait.text = mmss(row.waited_s)
        self._waits[row.id] = view.ids.wait
        button = view.ids.action
        if "ack" in row.allowed and not row.mine:
            button.text = t("take")
            button.bind(on_release=lambda _b, i=row.id: app.act("ack", i))
        else:
            button.text = t("open")
            button.disabled = not (row.mine or row.id in app.link.core.pages or "ack" in row.pending)
            button.bind(on_release=lambda _b, i=row.id: app.open_page(i))
        return view

    def tick(self) -> None:
        app = App.get_running_app()
        if app.link is None or self.tab != "calls":
            return
        with app.link.lock:
            now = app.link.clock()
            waits = {i: app.link.core.waited(i, now) for i in self._waits}
        for call_id, label in self._waits.items():
            if waits.get(call_id) is not None:
                label.text = mmss(waits[call_id])


def _line(text: str) -> Label:
    label = Label(text=text, font_size=sp(18), size_hint_y=None, height=dp(44), halign="left", valign="middle")
    label.bind(size=lambda lbl, size: setattr(lbl, "text_size", size))
    return label
